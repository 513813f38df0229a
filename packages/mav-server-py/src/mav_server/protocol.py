"""Pydantic models of protocol mav/1, mirroring the zod schemas of `@mav/client`.

The source of truth is `packages/mav-client` (zod, with `PROTOCOL.md` and the generated JSON Schema in
`packages/mav-client/schema/`); the tests validate what this module produces against that JSON Schema.
Wire names are snake_case.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

PROTOCOL = "mav/1"

Aggregation = Literal["l2", "max_abs"]
Phase = Literal["queued", "loading_model", "generating"]
DoneReason = Literal["max_tokens", "eos", "stopped", "error"]
EventName = Literal["meta", "status", "step", "error", "done"]
Detail = Literal["heads", "lens"]
DETAILS: tuple[Detail, ...] = ("heads", "lens")


UINT32_MAX = 2**32 - 1
MAX_SAFE_INTEGER = 2**53 - 1
"""Largest integer a JavaScript client reads exactly; no integer of a request may exceed it."""
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.01, 100.0
"""Positive temperatures outside this range overflow or underflow the sampler's float32 scores."""
MIN_REPETITION_PENALTY, MAX_REPETITION_PENALTY = 0.01, 100.0


def _temperature(value: float) -> float:
    if 0 < value < MIN_TEMPERATURE:
        raise ValueError(f"must be 0 (greedy) or between {MIN_TEMPERATURE} and {MAX_TEMPERATURE:g}")
    return value


def _temperature_schema(schema: dict[str, Any]) -> None:
    # The same `anyOf` that zod's union writes into the protocol's JSON Schema.
    default = schema.get("default", 0)
    schema.clear()
    schema.update(
        anyOf=[
            {"type": "number", "const": 0},
            {"type": "number", "minimum": MIN_TEMPERATURE, "maximum": MAX_TEMPERATURE},
        ],
        default=default,
    )


# --- Branch and step mode (issue 15): tokens taken as already generated --------------------------------


class ForcedPrefix(BaseModel):
    """`forced` of a run request (zod `forcedPrefixSchema`): steps 0..n-1 of the run, taken as generated.

    Which ids the model knows, and how many fit, depend on the model and the server: the app checks them.
    """

    model_config = ConfigDict(strict=True, extra="ignore")

    model: str = Field(min_length=1)
    """The model that produced `token_ids`; it must be the run's model."""
    token_ids: list[Annotated[int, Field(ge=0, le=MAX_SAFE_INTEGER)]] = Field(min_length=1)
    echo: bool = True
    """Send a `step` event (`forced: true`) per forced token; false sends only the new steps."""


# ---------------------------------------------------------------------------------------------------


class RunRequest(BaseModel):
    """Body of `POST /run` and JSON of `GET /run?params=`.

    Types are strict (no `"10"` for 10, no `true` for 1) and ranges follow the zod schema; the limits
    that a server configures (e.g. the `max_new_tokens` cap, prompt length) are checked by the app.
    Unknown fields are ignored so that newer clients can talk to this server.
    """

    model_config = ConfigDict(strict=True, extra="ignore")

    model: str | None = Field(default=None, min_length=1)
    prompt: str = Field(min_length=1)
    max_new_tokens: int = Field(default=50, ge=1, le=MAX_SAFE_INTEGER)
    temperature: Annotated[float, AfterValidator(_temperature)] = Field(
        default=0.0, ge=0, le=MAX_TEMPERATURE, allow_inf_nan=False, json_schema_extra=_temperature_schema
    )
    top_k: int = Field(default=50, ge=0, le=MAX_SAFE_INTEGER)
    top_p: float = Field(default=1.0, gt=0, le=1, allow_inf_nan=False)
    min_p: float = Field(default=0.0, ge=0, le=1, allow_inf_nan=False)
    repetition_penalty: float = Field(
        default=1.0, ge=MIN_REPETITION_PENALTY, le=MAX_REPETITION_PENALTY, allow_inf_nan=False
    )
    seed: int = Field(default=42, ge=0, le=UINT32_MAX)
    aggregation: Aggregation = "l2"
    top_n: int = Field(default=20, ge=1, le=100)
    chat: bool | None = None
    forced: ForcedPrefix | None = None
    detail: list[Detail] = Field(default_factory=list, max_length=len(DETAILS))


class EffectiveRequest(RunRequest):
    """The request as the server runs it: every default filled in, `model` and `chat` resolved; `detail`
    only when the run has some (a default run's `meta` is as it was before the field existed)."""

    model: str = Field(min_length=1)
    chat: bool = False
    detail: list[Detail] | None = Field(default=None, min_length=1, max_length=len(DETAILS))


class ModelInfo(BaseModel):
    id: str
    label: str
    architecture: str
    n_layers: int
    n_heads: int
    vocab_size: int
    n_params: int
    default: bool
    loaded: bool
    engine: str | None = None
    detail: list[Detail] | None = None
    """The `RunRequest.detail` kinds the model gives (its card's, which `runs` checks requests against)."""


class ModelsResponse(BaseModel):
    models: list[ModelInfo]


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"
    active_runs: int
    loaded_models: list[str]


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


NonNegInt = Annotated[int, Field(ge=0)]
NonNegFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Percent = Annotated[int, Field(ge=0, le=100)]


class TokenInfo(BaseModel):
    id: NonNegInt
    text: str


class TopEntry(BaseModel):
    id: NonNegInt
    text: str
    prob: Probability
    logit: Finite


class Distribution(BaseModel):
    entropy: NonNegFloat
    top_probs: list[Probability] = Field(max_length=100)


class MetaModel(BaseModel):
    id: str
    architecture: str
    n_layers: NonNegInt
    n_heads: NonNegInt
    vocab_size: NonNegInt
    engine: str | None = None


class MetaEvent(BaseModel):
    protocol: Literal["mav/1"] = PROTOCOL
    run_id: str
    model: MetaModel
    prompt_tokens: list[TokenInfo]
    request: EffectiveRequest
    forced_steps: NonNegInt | None = None
    """How many of the first steps were forced (`request.forced`); absent when none."""


class StatusEvent(BaseModel):
    phase: Phase
    progress: Probability | None = None
    message: str | None = None


class StepHeads(BaseModel):
    """Per layer and head: attention entropy of the newest position and the positions it weighs most."""

    entropy: list[list[NonNegFloat]]
    positions: list[list[list[NonNegInt]]]
    weights_pct: list[list[list[Percent]]]
    covered_pct: list[list[Percent]]


class StepLens(BaseModel):
    """Per hidden state (embeddings, then each block): the logit lens's top next-token candidates."""

    ids: list[list[NonNegInt]]
    probs: list[list[Probability]]
    texts: dict[str, str]


class StepEvent(BaseModel):
    step: NonNegInt
    token: TokenInfo
    text_delta: str
    top: list[TopEntry]
    activations: list[Finite]
    attention_entropy: list[Finite]
    distribution: Distribution
    elapsed_ms: NonNegFloat
    forced: bool | None = None
    """True when the request forced this token; absent when the sampler chose it."""
    heads: StepHeads | None = None
    lens: StepLens | None = None


class ErrorEvent(BaseModel):
    code: str
    message: str
    retryable: bool


class DoneEvent(BaseModel):
    reason: DoneReason
    steps: NonNegInt
    elapsed_ms: NonNegFloat


Event = MetaEvent | StatusEvent | StepEvent | ErrorEvent | DoneEvent

EVENT_NAMES: dict[type[BaseModel], EventName] = {
    MetaEvent: "meta",
    StatusEvent: "status",
    StepEvent: "step",
    ErrorEvent: "error",
    DoneEvent: "done",
}

EVENT_MODELS: dict[str, type[BaseModel]] = {name: model for model, name in EVENT_NAMES.items()}


def event_name(event: Event) -> EventName:
    return EVENT_NAMES[type(event)]


def parse_event(name: str, data: Any) -> Event:
    """Validate one decoded event (`name` from `event:`, `data` the parsed JSON) into its model."""
    model = EVENT_MODELS.get(name)
    if model is None:
        raise KeyError(f"unknown event name {name!r}; expected one of {sorted(EVENT_MODELS)}")
    return model.model_validate(data)  # type: ignore[return-value]
