"""One run from request to `done`: validation against the server's limits, a cap on concurrent runs,
and the sequence meta -> status (loading) -> steps -> done that the worker thread emits."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from dataclasses import dataclass

from pydantic import ValidationError

from . import generation
from .config import Settings
from .engines import ModelCard, ModelError
from .errors import ApiError, from_validation_error, show_value
from .models import ModelRegistry
from .protocol import (
    DETAILS,
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


def model_error_message(model_id: str, exc: ModelError) -> str:
    """`ModelError` messages are written for people (the reason, never a path or exception text); any
    other failure is only in the log."""
    return exc.message or unavailable_message(model_id)


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
    forced = len(request.forced.token_ids) if request.forced else 0
    if forced >= settings.max_new_tokens:
        raise ApiError(
            400,
            "invalid_request",
            f"forced.token_ids must hold fewer than {settings.max_new_tokens} tokens on this server (a run's "
            f"forced and new tokens together are at most {settings.max_new_tokens}); got {forced}",
            field="forced.token_ids",
        )
    named = "max_new_tokens" in request.model_fields_set
    if forced and named and forced + request.max_new_tokens > settings.max_new_tokens:
        raise ApiError(
            400,
            "invalid_request",
            f"max_new_tokens must be at most {settings.max_new_tokens - forced} after {forced} forced "
            f"tokens on this server; got {request.max_new_tokens}",
            field="max_new_tokens",
        )
    if request.max_new_tokens > settings.max_new_tokens - forced:
        if "max_new_tokens" in request.model_fields_set:
            raise ApiError(
                400,
                "invalid_request",
                f"max_new_tokens must be at most {settings.max_new_tokens} on this server; "
                f"got {request.max_new_tokens}",
                field="max_new_tokens",
            )
        # The protocol's default is more than this server allows: a request that did not ask is capped.
        request = _with_default_max_new_tokens(request, settings.max_new_tokens - forced)
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
        raise ApiError(503, exc.code, model_error_message(model_id, exc), headers=headers) from None
    has_template = bool(tokenizer.chat_template)
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
            [{"role": "user", "content": request.prompt}], add_generation_prompt=True
        )
        prompt_ids = tokenizer.encode(text, add_special_tokens=False)
    else:
        prompt_ids = tokenizer.encode(request.prompt)
    if not prompt_ids:
        raise ApiError(
            400, "invalid_request", "prompt must produce at least one token; got none", field="prompt"
        )
    forced = check_forced(request, model_id, card)
    context = card.context_length
    named = "max_new_tokens" in request.model_fields_set
    used = len(prompt_ids) + forced
    if context is not None and not named and used < context:
        # Servers cap what the client left to them: the default shrinks to what the context has room for.
        room = context - used
        if request.max_new_tokens > room:
            request = _with_default_max_new_tokens(request, room)
    if context is not None and used + request.max_new_tokens > context:
        field = "max_new_tokens"
        if used >= context:
            field = "prompt" if len(prompt_ids) >= context else "forced.token_ids"
        with_forced = f" plus forced.token_ids ({forced} tokens)" if forced else ""
        raise ApiError(
            400,
            "invalid_request",
            f"prompt ({len(prompt_ids)} tokens){with_forced} plus max_new_tokens ({request.max_new_tokens}) "
            f"must fit the context of {model_id} ({context} tokens)",
            field=field,
        )
    unavailable = [kind for kind in request.detail if kind not in card.detail]
    if unavailable:
        raise ApiError(
            400,
            "invalid_request",
            f"detail {unavailable[0]!r} is not available for model {model_id!r} on the {card.engine} engine; "
            f"it gives {list(card.detail)}",
            field="detail",
        )
    detail = [kind for kind in DETAILS if kind in request.detail] or None
    effective = EffectiveRequest.model_validate(
        {**request.model_dump(), "model": model_id, "chat": chat, "detail": detail}, strict=False
    )
    return RunPlan(f"run_{uuid.uuid4().hex[:16]}", effective, prompt_ids, card, registry.label(model_id))


def check_forced(request: RunRequest, model_id: str, card: ModelCard) -> int:
    """How many tokens the request forces, once they are known to come from this model and its
    vocabulary; raises `ApiError` (400) naming the field otherwise."""
    if request.forced is None:
        return 0
    if request.forced.model != model_id:
        raise ApiError(
            400,
            "invalid_request",
            f"forced.model must be the run's model {model_id!r} (forced tokens are ids of the model that "
            f"produced them); got {show_value(request.forced.model)}",
            field="forced.model",
        )
    for index, token_id in enumerate(request.forced.token_ids):
        if token_id >= card.vocab_size:
            raise ApiError(
                400,
                "invalid_request",
                f"forced.token_ids[{index}] must be a token id of {model_id} (below {card.vocab_size}); "
                f"got {token_id}",
                field="forced.token_ids",
            )
    return len(request.forced.token_ids)


def execute_run(
    registry: ModelRegistry,
    plan: RunPlan,
    emit: generation.Emit,
    *,
    started: float,
    cancelled: generation.Cancelled = lambda: False,
) -> DoneEvent:
    """Emit the whole run. Never raises: failures become an `error` event and `done` with reason error."""
    tokenizer = registry.tokenizer(plan.card.id)
    emit(
        MetaEvent(
            run_id=plan.run_id,
            model=plan.card.meta(),
            prompt_tokens=[
                TokenInfo(id=token_id, text=tokenizer.decode([token_id], skip_special_tokens=False))
                for token_id in plan.prompt_ids
            ],
            request=plan.request,
            forced_steps=len(plan.request.forced.token_ids) if plan.request.forced else None,
        )
    )
    try:
        if not registry.is_loaded(plan.card.id):
            report = LoadReport(emit, plan.label)
            report(0.0)
            loaded = registry.get(plan.card.id, progress=report)
            emit(StatusEvent(phase="loading_model", progress=1.0, message=f"Loaded {plan.label}"))
        else:
            loaded = registry.get(plan.card.id)
    except Exception as exc:
        code, retryable = "model_unavailable", False
        if isinstance(exc, ModelError):
            code, retryable = exc.code, exc.retryable
        log.exception("run %s: model %s did not load", plan.run_id, plan.card.id)
        message = model_error_message(plan.card.id, exc) if isinstance(exc, ModelError) else None
        emit(ErrorEvent(code=code, message=message or unavailable_message(plan.card.id), retryable=retryable))
        done = DoneEvent(reason="error", steps=0, elapsed_ms=round((time.perf_counter() - started) * 1000, 1))
        emit(done)
        return done
    return generation.generate(
        loaded, plan.request, plan.prompt_ids, emit, started=started, cancelled=cancelled
    )


LOAD_REPORT_STEP = 0.05
"""Loading progress is sent each time it has gone this much further (the protocol promises 10%)."""


class LoadReport:
    """Turns an engine's load progress into `status` events naming the model, one per 5% at most."""

    def __init__(self, emit: generation.Emit, label: str) -> None:
        self.emit = emit
        self.label = label
        self.sent = -1.0

    def __call__(self, fraction: float) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        if fraction >= 1.0 or fraction - self.sent < LOAD_REPORT_STEP:
            return  # 1.0 is sent once the model is ready, after the engine's last touches
        self.sent = fraction
        self.emit(
            StatusEvent(phase="loading_model", progress=round(fraction, 3), message=f"Loading {self.label}")
        )


SLOT_POLL_SECONDS = 0.05


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

    async def acquire(self, wait: float) -> bool:
        """`try_acquire`, retried for up to `wait` seconds while every slot is taken."""
        deadline = time.monotonic() + wait
        while not self.try_acquire():
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(min(SLOT_POLL_SECONDS, max(0.0, deadline - time.monotonic())))
        return True

    def release(self) -> None:
        with self._lock:
            if self._active <= 0:
                raise RuntimeError("RunLimiter.release() called more often than try_acquire() succeeded")
            self._active -= 1
