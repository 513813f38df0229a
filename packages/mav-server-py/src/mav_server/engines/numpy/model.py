"""One GGUF model for the numpy engine: settings and tokenizer as soon as it is opened (a fraction of a
second: enough to describe the model and tokenize prompts), weights when `load_weights` is called."""

from __future__ import annotations

from pathlib import Path

from .gguf_file import GgufError, GgufFile
from .tokenizer import GgufTokenizer
from .weights import LlamaConfig, LlamaWeights, Progress, load_weights, read_config


class GgufModel:
    """A verified Llama-family GGUF (`GgufError` when the engine cannot run it)."""

    def __init__(self, path: str | Path) -> None:
        self.file = GgufFile.read(path)
        self.config: LlamaConfig = read_config(self.file)
        self.tokenizer = GgufTokenizer.from_gguf(self.file)
        if self.tokenizer.vocab_size > self.config.vocab_size:
            raise GgufError(
                f"the tokenizer has {self.tokenizer.vocab_size} tokens but token_embd.weight only "
                f"{self.config.vocab_size} rows"
            )

    @property
    def path(self) -> Path:
        return self.file.path

    def load_weights(self, progress: Progress | None = None) -> LlamaWeights:
        """De-quantize the weights (seconds); `progress(share)` reports the share of weight bytes done."""
        return load_weights(self.file, self.config, progress)
