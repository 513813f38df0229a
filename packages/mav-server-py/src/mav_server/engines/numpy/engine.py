"""The numpy engine behind the core's interface (`mav_server.engines`): Llama-family GGUF files in
float32 on the CPU, without torch. `pip install mav-server` is enough.

The math lives beside this file (`GgufModel`: the verified settings and tokenizer of one file;
`NumpyDecoder`: one run's forward passes); this module only answers the core's four questions.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

from .. import LoadedModel, ModelCard, ModelSource, Progress, Tokenizer, UnsupportedModel
from .decoder import BLAS_THREADS, NumpyDecoder, blas, linear, rms_norm
from .gguf_file import GgufError
from .model import GgufModel
from .weights import LlamaWeights

CLASS_NAMES = {"llama": "LlamaForCausalLM"}
"""transformers' class for each GGUF architecture: `/models` names a model the same on every engine."""


@dataclass(kw_only=True)
class NumpyModel(LoadedModel):
    weights: LlamaWeights

    def decoder(self, capacity: int) -> NumpyDecoder:
        return NumpyDecoder(self.weights, capacity)

    def unembed(self, states: np.ndarray) -> np.ndarray:
        w = self.weights
        with blas().limit(limits=BLAS_THREADS):
            return linear(rms_norm(states, w.final_norm, np.float32(w.config.rms_eps)), w.lm_head)


class NumpyEngine:
    name = "numpy"

    def __init__(self) -> None:
        self._opened: dict[str, GgufModel] = {}
        self._lock = threading.Lock()

    def max_concurrent_runs(self) -> int:
        return 2

    def _open(self, source: ModelSource) -> GgufModel:
        """The file's verified settings and tokenizer (a fraction of a second, kept per model)."""
        if source.gguf is None:
            raise UnsupportedModel("the numpy engine runs GGUF files only")
        with self._lock:
            if source.id not in self._opened:
                try:
                    self._opened[source.id] = GgufModel(source.gguf_path())
                except GgufError as exc:
                    raise UnsupportedModel(str(exc)) from exc
            return self._opened[source.id]

    def describe(self, source: ModelSource) -> ModelCard:
        model = self._open(source)
        config = model.config
        return ModelCard(
            id=source.id,
            label=source.label,
            architecture=CLASS_NAMES.get(config.architecture, config.architecture),
            n_layers=config.n_layers,
            n_heads=config.n_heads,
            vocab_size=config.vocab_size,
            n_params=sum(_count(t.shape) for t in model.file.tensors.values()),
            context_length=config.context_length,
            engine=self.name,
        )

    def tokenizer(self, source: ModelSource) -> Tokenizer:
        return self._open(source).tokenizer

    def load(
        self, source: ModelSource, card: ModelCard, tokenizer: Tokenizer, progress: Progress
    ) -> NumpyModel:
        model = self._open(source)
        try:
            weights = model.load_weights(progress)
        except GgufError as exc:
            raise UnsupportedModel(str(exc)) from exc
        return NumpyModel(card=card, tokenizer=tokenizer, eos_ids=model.tokenizer.end_ids, weights=weights)


def _count(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


def create(device: str = "auto", dtype: str = "auto") -> NumpyEngine:
    return NumpyEngine()
