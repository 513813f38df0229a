"""The torch engine: any model transformers loads (GGUF files included), on the CPU, CUDA or MPS.

Models load through transformers with `attn_implementation="eager"` (the entropy metric needs the
attention weights) and never with `trust_remote_code`, then through openmav's `TransformersBackend`
so they are set up the way openmav sets them up. Llama-architecture models on the CPU run
`decode_llama`'s lean forward; every other model (or configuration it does not verify) runs the
transformers forward. Installed with `pip install 'mav-server[torch]'`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

# Models load from a GGUF file or the local Hugging Face cache, never implicitly from the hub: this must
# be set before transformers is first imported. Deployments that may download set it to 0.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch

from .. import LoadedModel, ModelCard, ModelSource, Progress, Tokenizer, UnsupportedModel
from . import decode_llama
from .decode_llama import LlamaWeights
from .decoders import HFDecoder, LeanDecoder
from .gguf_check import open_gguf
from .progress import reporting
from .threads import choose_threads, split, use_threads
from .tokenizer import HFTokenizer
from .unembedding import Unembedding

log = logging.getLogger("mav_server.engines.torch")

FINAL_NORMS = {
    "llama": "model.norm",
    "mistral": "model.norm",
    "qwen2": "model.norm",
    "qwen3": "model.norm",
    "phi3": "model.norm",
    "gpt2": "transformer.ln_f",
    "gpt_neox": "gpt_neox.final_layer_norm",
}
"""Where each architecture (`config.model_type`) keeps the norm before its unembedding: the models whose
logit lens (`unembed`) this engine gives, their logits being exactly `lm_head(norm(last state))`."""


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but torch sees no CUDA device")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device 'mps' was asked for but torch sees no MPS device")
    return torch.device(name)


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    if name == "auto":
        return torch.float32 if device.type == "cpu" else torch.float16
    return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[name]


@dataclass(kw_only=True)
class TorchModel(LoadedModel):
    model: Any
    """The transformers model (eager attention, eval mode)."""
    device: torch.device
    backend: Any
    """openmav's `TransformersBackend` wrapping `model` and the tokenizer."""
    lean_weights: LlamaWeights | None = None
    """The fused weights of the lean path, made by the first run that takes it."""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    unembedding: Unembedding = field(default_factory=Unembedding, repr=False)
    """The logit lens's product (its packed weight is shared by copies of this model)."""
    threads: int = field(default_factory=torch.get_num_threads)
    """torch's intra-op threads for a run's forward passes on the CPU, chosen at load (`threads`)."""

    def decode_path(self) -> str:
        """Which forward pass a run takes now, in words (for logs and the benchmark)."""
        reason = decode_llama.unsupported_reason(self.model, self.device)
        if reason is None:
            return "lean Llama decode (mav_server.engines.torch.decode_llama)"
        return f"transformers forward ({reason})"

    def unembed(self, states: np.ndarray) -> np.ndarray:
        norm = attrgetter(FINAL_NORMS[self.model.config.model_type])(self.model)
        head = self.model.get_output_embeddings()
        with torch.inference_mode():
            x = norm(torch.from_numpy(states).to(self.device, head.weight.dtype))
            return self.unembedding(head, x).float().cpu().numpy()

    @contextmanager
    def split_threads(self) -> Iterator[Callable[[], None]]:
        with split(self.threads) if self.device.type == "cpu" else super().split_threads() as worker_init:
            yield worker_init

    def decoder(self, capacity: int) -> LeanDecoder | HFDecoder:
        if self.device.type == "cpu":
            use_threads(self.threads)
        # Checked on every run (hooks may have been added since the last one); fused once per model.
        if decode_llama.unsupported_reason(self.model, self.device) is not None:
            return HFDecoder(self.model, self.device)
        with self.lock:
            if self.lean_weights is None or not self.lean_weights.is_current():
                self.lean_weights = LlamaWeights(self.model)
            return LeanDecoder(self.lean_weights, capacity)


END_TOKENS = ("<|endoftext|>", "<|im_end|>", "</s>", "<|eot_id|>", "<|end_of_text|>", "<end_of_turn>")
"""Special tokens that end a text or a turn in common vocabularies; they stop generation when the
tokenizer has them as special tokens (a chat model may also emit its document end token)."""


def end_token_ids(model: Any, tokenizer: Any) -> frozenset[int]:
    """Token ids that end generation: the tokenizer's eos, every eos of the generation config, and the
    common end-of-text/end-of-turn special tokens the tokenizer defines."""
    ids: set[int] = set()
    special = set(getattr(tokenizer, "all_special_tokens", ())) | set(
        getattr(tokenizer, "get_added_vocab", dict)().keys()
    )
    for token in END_TOKENS:
        if token in special:
            token_id = tokenizer.convert_tokens_to_ids(token)
            if isinstance(token_id, int):
                ids.add(token_id)
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    generation_config = getattr(model, "generation_config", None)
    configured = getattr(generation_config, "eos_token_id", None)
    if isinstance(configured, int):
        ids.add(configured)
    elif configured:
        ids.update(int(i) for i in configured)
    return frozenset(ids)


def _from_pretrained_args(source: ModelSource) -> tuple[str, dict[str, Any]]:
    """The first argument and keywords that transformers' `from_pretrained` needs for `source`."""
    if source.gguf is not None:
        path = source.gguf_path()
        return str(path.parent), {"gguf_file": path.name}
    assert source.pretrained is not None
    return source.pretrained, {"trust_remote_code": False}


class TorchEngine:
    name = "torch"

    def __init__(self, device: str = "auto", dtype: str = "auto") -> None:
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self._built: dict[str, tuple[Any, Any]] = {}
        self._lock = threading.Lock()

    def max_concurrent_runs(self) -> int:
        return 2 if self.device.type == "cpu" else 4

    def _build(self, source: ModelSource) -> tuple[Any, Any]:
        assert source.build is not None
        with self._lock:
            if source.id not in self._built:
                self._built[source.id] = source.build()
            return self._built[source.id]

    def _config(self, source: ModelSource) -> Any:
        if source.build is not None:
            return self._build(source)[0].config
        from transformers import AutoConfig

        if source.gguf is not None:
            open_gguf(source.gguf_path())  # refuses what gguf-py cannot read, with the reason
        name, kwargs = _from_pretrained_args(source)
        try:
            return AutoConfig.from_pretrained(name, **kwargs)
        except ValueError as exc:
            if "not supported" in str(exc):  # e.g. a GGUF architecture transformers does not know
                raise UnsupportedModel(str(exc)) from exc
            raise

    def describe(self, source: ModelSource, n_params: int | None = None, config: Any = None) -> ModelCard:
        """The card from the model's config; the parameter count from a weightless (meta) instance."""
        from transformers import AutoModelForCausalLM

        config = config or self._config(source)
        text = config.get_text_config() if hasattr(config, "get_text_config") else config
        architecture = (getattr(config, "architectures", None) or [None])[0]
        if n_params is None or architecture is None:
            with torch.device("meta"):
                skeleton = AutoModelForCausalLM.from_config(config, trust_remote_code=False)
            n_params = n_params or sum(p.numel() for p in skeleton.parameters())
            architecture = architecture or type(skeleton).__name__
        context = getattr(text, "max_position_embeddings", None) or getattr(text, "n_positions", None)
        return ModelCard(
            id=source.id,
            label=source.label,
            architecture=str(architecture),
            n_layers=int(text.num_hidden_layers),
            n_heads=int(text.num_attention_heads),
            vocab_size=int(text.vocab_size),
            n_params=int(n_params),
            context_length=int(context) if context else None,
            engine=self.name,
            detail=("heads", "lens") if getattr(text, "model_type", None) in FINAL_NORMS else ("heads",),
        )

    def tokenizer(self, source: ModelSource) -> HFTokenizer:
        if source.build is not None:
            return HFTokenizer(self._build(source)[1])
        from transformers import AutoTokenizer

        name, kwargs = _from_pretrained_args(source)
        return HFTokenizer(AutoTokenizer.from_pretrained(name, **kwargs))

    def _model(self, source: ModelSource, config: Any) -> Any:
        if source.build is not None:
            return self._build(source)[0].to(dtype=self.dtype)
        from transformers import AutoModelForCausalLM

        name, kwargs = _from_pretrained_args(source)
        return AutoModelForCausalLM.from_pretrained(
            name, config=config, attn_implementation="eager", dtype=self.dtype, **kwargs
        )

    def load(
        self, source: ModelSource, card: ModelCard, tokenizer: Tokenizer, progress: Progress
    ) -> TorchModel:
        from openmav.backends.model_backend_transformers import TransformersBackend

        assert isinstance(tokenizer, HFTokenizer)
        config = self._config(source)
        with reporting(progress, gguf=source.gguf is not None):
            model = self._model(source, config)
        progress(1.0)
        model.eval()
        backend = TransformersBackend(
            source.id, model_obj=model, tokenizer_obj=tokenizer.hf, device=str(self.device)
        )
        model = backend.model
        if model.config._attn_implementation != "eager":
            model.set_attn_implementation("eager")
        n_params = sum(p.numel() for p in model.parameters())
        log.info("loaded %s on %s (%s)", source.id, self.device, self.dtype)
        loaded = TorchModel(
            card=self.describe(source, n_params, model.config),
            tokenizer=tokenizer,
            eos_ids=end_token_ids(model, tokenizer.hf),
            model=model,
            device=self.device,
            backend=backend,
        )
        if self.device.type == "cpu":
            try:
                loaded.threads = choose_threads(loaded.decoder(64), loaded.card.vocab_size)
            except Exception:  # the first run will say what is wrong with the forward pass
                log.exception("timing a one-token pass of %s failed; torch's threads stay", source.id)
        return loaded


def create(device: str = "auto", dtype: str = "auto") -> TorchEngine:
    return TorchEngine(device, dtype)
