"""Engines: what runs a model's forward passes behind the server's core.

The core (HTTP, runs, the generation loop, sampling, metrics, the wire) imports no engine and no
torch. It asks an engine four things about an allow-listed model, through the types below:

1. `describe(source)`: the model's `ModelCard`, from its files' metadata, without loading weights.
   A model the engine cannot run raises `UnsupportedModel` with the reason (unknown architecture,
   rope scaling it does not implement, a quantisation it cannot read, a corrupt file).
2. `tokenizer(source)`: a `Tokenizer` (loaded before the weights, to validate prompts).
3. `load(source, card, tokenizer, progress)`: a `LoadedModel`, calling `progress(fraction)` as the
   weights are read and converted (the share of their bytes, at least every 10%).
4. `LoadedModel.decoder(capacity)`: one run's `Decoder` (a KV cache for `capacity` positions), whose
   `forward` feeds tokens and returns the newest positions' `Outputs`, and whose `rewind` forgets the
   last positions (a guessed token that was not chosen, see `mav_server.drafting`).
5. `LoadedModel.unembed(states)`: hidden states through the final norm and the unembedding (the logit
   lens of `mav_server.detail`), for the models whose card lists `"lens"` in `detail`.
6. `LoadedModel.split_threads()`: how the forward passes and a worker computing detail beside them
   share the CPU (by default they do not change anything).

Engines are found by name in `ENGINES` and imported only when chosen, so a server without torch never
imports it. `--engine auto` (the default) picks per model: numpy for a GGUF it accepts, torch for
everything else when torch is installed (and for every model when a GPU is there to use).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..protocol import MetaModel

Progress = Callable[[float], None]
"""Called with the share (0..1) of the weights' bytes read and converted so far."""


class ModelError(Exception):
    """A model cannot be described or loaded; `code` is the protocol error code."""

    def __init__(self, code: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable


class UnsupportedModel(ModelError):
    """An engine refuses a model; the message names the reason in words a person understands."""

    def __init__(self, message: str) -> None:
        super().__init__("unsupported_model", message)


@dataclass(frozen=True)
class ModelSource:
    """Where an allow-listed model comes from: a GGUF file, a transformers id or directory, or (tests
    and benchmarks) a builder run in-process by the torch engine."""

    id: str
    label: str
    gguf: Path | Callable[[], Path] | None = None
    """The `.gguf` file, or a function that finds it (the bundled model's, from installed metadata)."""
    pretrained: str | None = None
    """A transformers model id (local Hugging Face cache) or a local directory."""
    build: Callable[[], tuple[Any, Any]] | None = None
    """`() -> (transformers model, tokenizer)`, built in-process; torch engine only."""

    def gguf_path(self) -> Path:
        if self.gguf is None:
            raise ValueError(f"model {self.id!r} is not a GGUF file")
        return self.gguf() if callable(self.gguf) else self.gguf


@dataclass(frozen=True)
class ModelCard:
    """What `/models` and `meta` say about a model, known without loading its weights."""

    id: str
    label: str
    architecture: str
    n_layers: int
    n_heads: int
    vocab_size: int
    n_params: int
    context_length: int | None
    engine: str
    """Name of the engine that serves the model (`torch`, `numpy`)."""
    detail: tuple[str, ...] = ("heads", "lens")
    """The opt-in step detail (`RunRequest.detail`) the engine can give for this model."""

    def meta(self) -> MetaModel:
        return MetaModel(
            id=self.id,
            architecture=self.architecture,
            n_layers=self.n_layers,
            n_heads=self.n_heads,
            vocab_size=self.vocab_size,
            engine=self.engine,
        )


class Tokenizer(Protocol):
    """The text side of a model, as the core uses it."""

    chat_template: str | None

    def encode(self, text: str, *, add_special_tokens: bool = True) -> list[int]: ...

    def decode(self, ids: Sequence[int], *, skip_special_tokens: bool = False) -> str:
        """Text of `ids`, without any clean-up of spaces (joining deltas must give the whole text)."""
        ...

    def apply_chat_template(self, messages: list[dict[str, str]], *, add_generation_prompt: bool) -> str:
        """The conversation as text, rendered by the model's own chat template."""
        ...


@dataclass(frozen=True)
class Outputs:
    """One position of a forward pass, as float32 NumPy arrays (any object with these three works)."""

    logits: np.ndarray
    """(1, vocab): the raw next-token scores."""
    hidden_states: np.ndarray
    """(layers + 1, hidden): the embeddings, then each block's output, the last after the final norm."""
    attentions: np.ndarray
    """(layers, heads, position + 1): each layer's attention row for this position."""


class Decoder(Protocol):
    """One run's forward passes over a KV cache."""

    length: int
    """Positions the cache holds."""

    def forward(self, token_ids: np.ndarray, keep: int = 1) -> list[Outputs]:
        """Feed `token_ids` (1-D int64) after the cached positions; the last `keep` positions' outputs,
        oldest first."""
        ...

    def rewind(self, length: int) -> None:
        """Forget the positions from `length` on."""
        ...


@dataclass(kw_only=True)
class LoadedModel:
    """A model in memory. Engines subclass it with what their decoder needs and implement `decoder`."""

    card: ModelCard
    tokenizer: Tokenizer
    eos_ids: frozenset[int]
    """Token ids that end a run (the model's end-of-text and end-of-turn tokens)."""
    draft_cost: float | None = None
    """A two-token pass's time over a one-token pass's, measured at load (`mav_server.drafting`)."""
    token_texts: dict[int, str] = field(default_factory=dict, repr=False)
    """Each token decoded alone, filled as steps need them."""

    def decoder(self, capacity: int) -> Decoder:
        raise NotImplementedError

    def unembed(self, states: np.ndarray) -> np.ndarray:
        """(rows, hidden) float32 residuals -> (rows, vocab) float32 logits: each row through the final
        norm and the unembedding, as the last hidden state is. One matrix product for all rows: the
        unembedding is the model's largest matrix, read once."""
        raise NotImplementedError

    @contextmanager
    def split_threads(self) -> Iterator[Callable[[], None]]:
        """Entered by a run whose detail a worker thread computes while this thread runs the forward
        passes; yields the worker's initializer. Engines whose thread pools would oversubscribe the
        cores then (two pools, each sized for the whole machine) give each side a share."""
        yield _nothing


def _nothing() -> None:
    pass


class Engine(Protocol):
    """Describes, tokenizes and loads models of the kinds it supports (see the module docstring)."""

    name: str

    def describe(self, source: ModelSource) -> ModelCard: ...

    def tokenizer(self, source: ModelSource) -> Tokenizer: ...

    def load(
        self, source: ModelSource, card: ModelCard, tokenizer: Tokenizer, progress: Progress
    ) -> LoadedModel: ...

    def max_concurrent_runs(self) -> int:
        """Runs at once that this engine's device serves well (the default of `MAV_MAX_CONCURRENT_RUNS`)."""
        ...


ENGINES: dict[str, tuple[str, str]] = {
    "torch": ("mav_server.engines.torch", "torch"),
    "numpy": ("mav_server.engines.numpy.engine", "gguf"),
}
"""Engine name -> (module defining `create(device, dtype)`, the distribution it needs installed)."""

ENGINE_CHOICES = ("auto", *ENGINES)


@functools.cache
def available(name: str) -> bool:
    """Whether the engine can be created here: the package it needs (torch, gguf) is installed (found
    without importing it), and then its module imports."""
    module, needs = ENGINES[name]
    try:
        if importlib.util.find_spec(needs) is None:
            return False
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def create(name: str, *, device: str = "auto", dtype: str = "auto") -> Engine:
    """The engine called `name`; raises `ModelError` naming what to install when it is not available."""
    if name not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINE_CHOICES)}; got {name!r}")
    if not available(name):
        extra = " (pip install 'mav-server[torch]')" if name == "torch" else ""
        raise ModelError("model_unavailable", f"the {name} engine is not installed{extra}")
    return importlib.import_module(ENGINES[name][0]).create(device=device, dtype=dtype)


def candidates(source: ModelSource, preference: str, device: str) -> list[str]:
    """Engines to try for `source`, in order, for `--engine preference` and `--device device`."""
    if preference != "auto":
        return [preference]
    torch_first = device not in ("auto", "cpu") or (device == "auto" and available("torch") and _has_gpu())
    order = ["torch", "numpy"] if torch_first or source.gguf is None else ["numpy", "torch"]
    usable = [name for name in order if available(name) and (name == "torch" or source.gguf is not None)]
    return usable or ["torch"]  # its error names the extra to install


@functools.cache
def _has_gpu() -> bool:
    import torch

    return bool(torch.cuda.is_available() or torch.backends.mps.is_available())
