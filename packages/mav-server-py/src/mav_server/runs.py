"""One run from request to `done`: validation against the server's limits, a cap on concurrent runs,
and the sequence meta -> status (loading) -> steps -> done that the worker thread emits."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass

from pydantic import ValidationError

from . import engine
from .config import Settings
from .errors import ApiError, from_validation_error, show_value
from .models import ModelCard, ModelError, ModelRegistry
from .protocol import (
    DoneEvent,
    EffectiveRequest,
    ErrorEvent,
    MetaEvent,
    RunRequest,
    StatusEvent,
    TokenInfo,
)

log = logging.getLogger("mav_server.runs")

RETRY_AFTER_SECONDS = 2
"""What `Retry-After` says when a run is refused for a while (429 at the cap, a model that may load later)."""


def unavailable_message(model_id: str) -> str:
    """What a client is told when a model cannot be described or loaded; the reason is in the server log."""
    return f"model {model_id} is not available on this server right now; the server log says why"


def parse_request(data: object, settings: Settings) -> RunRequest:
    """Types and ranges of the protocol, then this server's limits; raises `ApiError` (4xx)."""
    try:
        request = RunRequest.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc) from None
    if not request.prompt.strip():
        raise ApiError(
            400, "invalid_request", "prompt must contain some text; got only whitespace", field="prompt"
        )
    if len(request.prompt) > settings.max_prompt_chars:
        raise ApiError(
            400,
            "invalid_request",
            f"prompt must be at most {settings.max_prompt_chars} characters; got {len(request.prompt)}",
            field="prompt",
        )
    if request.max_new_tokens > settings.max_new_tokens:
        if "max_new_tokens" in request.model_fields_set:
            raise ApiError(
                400,
                "invalid_request",
                f"max_new_tokens must be at most {settings.max_new_tokens} on this server; "
                f"got {request.max_new_tokens}",
                field="max_new_tokens",
            )
        # The protocol's default is more than this server allows: a request that did not ask is capped.
        request = _with_default_max_new_tokens(request, settings.max_new_tokens)
    return request


def _with_default_max_new_tokens(request: RunRequest, value: int) -> RunRequest:
    """`request` with another `max_new_tokens`, still counted as not named by the client."""
    fields = {**dict(request), "max_new_tokens": value}
    return type(request).model_construct(_fields_set=set(request.model_fields_set), **fields)


@dataclass(frozen=True)
class RunPlan:
    run_id: str
    request: EffectiveRequest
    prompt_ids: list[int]
    card: ModelCard
    label: str


def plan_run(registry: ModelRegistry, request: RunRequest) -> RunPlan:
    """Resolve the model, tokenize the prompt and check it fits the model's context (may load the
    tokenizer: call it off the event loop)."""
    model_id = request.model or registry.default_id
    if model_id not in registry:
        raise ApiError(
            404,
            "unknown_model",
            f"model {show_value(model_id)} is not served here; available: {', '.join(registry.ids)}",
            field="model",
        )
    try:
        card = registry.card(model_id)
        tokenizer = registry.tokenizer(model_id)
    except ModelError as exc:
        log.error("model %s cannot be described: %s", model_id, exc.message)
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if exc.retryable else None
        raise ApiError(503, exc.code, unavailable_message(model_id), headers=headers) from None
    has_template = bool(getattr(tokenizer, "chat_template", None))
    chat = has_template if request.chat is None else request.chat
    if chat and not has_template:
        raise ApiError(
            400,
            "invalid_request",
            f"chat must be false for model {model_id!r}: it has no chat template",
            field="chat",
        )
    if chat:
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": request.prompt}], add_generation_prompt=True, tokenize=False
        )
        prompt_ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
    else:
        prompt_ids = list(tokenizer(request.prompt)["input_ids"])
    if not prompt_ids:
        raise ApiError(
            400, "invalid_request", "prompt must produce at least one token; got none", field="prompt"
        )
    context = card.context_length
    named = "max_new_tokens" in request.model_fields_set
    if context is not None and not named and len(prompt_ids) < context:
        # Servers cap what the client left to them: the default shrinks to what the context has room for.
        room = context - len(prompt_ids)
        if request.max_new_tokens > room:
            request = _with_default_max_new_tokens(request, room)
    if context is not None and len(prompt_ids) + request.max_new_tokens > context:
        field = "prompt" if len(prompt_ids) >= context else "max_new_tokens"
        raise ApiError(
            400,
            "invalid_request",
            f"prompt ({len(prompt_ids)} tokens) plus max_new_tokens ({request.max_new_tokens}) must fit "
            f"the context of {model_id} ({context} tokens)",
            field=field,
        )
    effective = EffectiveRequest.model_validate(
        {**request.model_dump(), "model": model_id, "chat": chat}, strict=False
    )
    return RunPlan(f"run_{uuid.uuid4().hex[:16]}", effective, prompt_ids, card, registry.label(model_id))


def execute_run(
    registry: ModelRegistry,
    plan: RunPlan,
    emit: engine.Emit,
    *,
    started: float,
    cancelled: engine.Cancelled = lambda: False,
) -> DoneEvent:
    """Emit the whole run. Never raises: failures become an `error` event and `done` with reason error."""
    tokenizer = registry.tokenizer(plan.card.id)
    emit(
        MetaEvent(
            run_id=plan.run_id,
            model=plan.card.meta(),
            prompt_tokens=[
                TokenInfo(
                    id=token_id,
                    text=tokenizer.decode(
                        [token_id], skip_special_tokens=False, clean_up_tokenization_spaces=False
                    ),
                )
                for token_id in plan.prompt_ids
            ],
            request=plan.request,
        )
    )
    try:
        if not registry.is_loaded(plan.card.id):
            emit(StatusEvent(phase="loading_model", progress=0.0, message=f"Loading {plan.label}"))
            loaded = registry.get(plan.card.id)
            emit(StatusEvent(phase="loading_model", progress=1.0, message=f"Loaded {plan.label}"))
        else:
            loaded = registry.get(plan.card.id)
    except Exception as exc:
        code, retryable = "model_unavailable", False
        if isinstance(exc, ModelError):
            code, retryable = exc.code, exc.retryable
        log.exception("run %s: model %s did not load", plan.run_id, plan.card.id)
        emit(ErrorEvent(code=code, message=unavailable_message(plan.card.id), retryable=retryable))
        done = DoneEvent(reason="error", steps=0, elapsed_ms=round((time.perf_counter() - started) * 1000, 1))
        emit(done)
        return done
    return engine.generate(loaded, plan.request, plan.prompt_ids, emit, started=started, cancelled=cancelled)


class RunLimiter:
    """Counts runs in progress and refuses more than `limit` at once."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._active = 0
        self._lock = threading.Lock()

    @property
    def active(self) -> int:
        with self._lock:
            return self._active

    def try_acquire(self) -> bool:
        with self._lock:
            if self._active >= self.limit:
                return False
            self._active += 1
            return True

    def release(self) -> None:
        with self._lock:
            if self._active <= 0:
                raise RuntimeError("RunLimiter.release() called more often than try_acquire() succeeded")
            self._active -= 1
