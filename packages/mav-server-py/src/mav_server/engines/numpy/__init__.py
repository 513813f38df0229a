"""The numpy engine: Llama-family GGUF models in float32 numpy, without torch.

model = GgufModel(path)                       # settings verified, tokenizer built
weights = model.load_weights(progress)        # de-quantized, laid out for the decoder
decoder = NumpyDecoder(weights, capacity)     # one run's KV cache
(out,) = decoder.forward(np.array(model.tokenizer.encode(text)))
"""

from .decoder import PROMPT_CHUNK, NumpyDecoder, Outputs
from .gguf_file import GgufError, GgufFile
from .model import GgufModel
from .tokenizer import GgufTokenizer
from .weights import ARCHITECTURES, LlamaConfig, LlamaWeights, Progress, load_gguf

__all__ = [
    "ARCHITECTURES",
    "PROMPT_CHUNK",
    "GgufError",
    "GgufFile",
    "GgufModel",
    "GgufTokenizer",
    "LlamaConfig",
    "LlamaWeights",
    "NumpyDecoder",
    "Outputs",
    "Progress",
    "load_gguf",
]
