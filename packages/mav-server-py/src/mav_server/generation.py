"""The generation loop: one `step` event per token, whatever engine runs the forward passes.

The engine's decoder feeds the prompt, then each new token, with its KV cache, and returns the newest
position's logits, hidden states and attention rows: all that openmav's metrics read. The `Drafter`
decides how many tokens each pass feeds; the `Sampler` chooses each token; `metrics` and `wire` turn
the position's arrays into the event.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from . import detail, metrics, wire
from .detokenize import IncrementalDetokenizer
from .drafting import Drafter
from .engines import LoadedModel, Outputs
from .protocol import DoneEvent, DoneReason, EffectiveRequest, ErrorEvent, Event, StatusEvent
from .sampling import Sampler

log = logging.getLogger("mav_server.generation")

OVERLAP_LENS = True
"""Compute a step's detail on a worker thread while the next forward pass runs (off: in line)."""

Emit = Callable[[Event], None]
Cancelled = Callable[[], bool]


@dataclass(frozen=True)
class RawStep:
    """One token's numbers before rounding: what the parity tests compare with openmav."""

    token_id: int
    logits: np.ndarray
    """Raw logits for the position that chose the token, shape (vocab,), float32."""
    activations: np.ndarray
    attention_entropy: np.ndarray
    forced: bool = False
    """The request forced this token (`forced.token_ids`); the sampler did not choose it."""
    heads: detail.HeadDetail | None = None
    lens: detail.LensDetail | None = None


def iter_steps(
    loaded: LoadedModel,
    prompt_ids: Sequence[int],
    sampler: Sampler,
    aggregation: str,
    max_new_tokens: int,
    forced: Sequence[int] = (),
    *,
    forced_outputs: bool = True,
    details: Collection[str] = (),
) -> Iterator[RawStep]:
    """Yield one `RawStep` per forced token (when `forced_outputs`), then one per new token; the forward
    pass for a step runs only when it is asked for. `details` are the kinds of `RunRequest.detail` to
    compute."""
    decoder = loaded.decoder(len(prompt_ids) + len(forced) + max_new_tokens)
    drafter = Drafter(decoder, prompt_ids, loaded.draft_cost)
    sampler.advance(len(forced))
    passes = itertools.chain(
        ((token_id, out, True) for token_id, out in drafter.force(forced, outputs=forced_outputs)),
        ((token_id, out, False) for token_id, out in drafter.steps(sampler.choose, max_new_tokens)),
    )
    if "lens" not in details or not OVERLAP_LENS:
        for token_id, out, was_forced in passes:
            yield _raw_step(loaded, token_id, out, aggregation, details, forced=was_forced)
        return
    # The lens is one large matrix product: it runs on a worker (BLAS and torch release the GIL) while
    # the next forward pass runs here, and each step still comes out whole and in order.
    with (
        loaded.split_threads() as worker_init,
        ThreadPoolExecutor(1, thread_name_prefix="mav-lens", initializer=worker_init) as worker,
    ):
        pending: Future[RawStep] | None = None
        try:
            while True:
                try:
                    token_id, out, is_forced = next(passes)
                except StopIteration:
                    break
                except Exception:
                    if pending is not None:  # a failed pass still lets the step before it out
                        yield pending.result()
                        pending = None
                    raise
                # Copies: the worker reads them while the decoder makes the next outputs.
                own = Outputs(out.logits.copy(), out.hidden_states.copy(), out.attentions.copy())
                job = worker.submit(_raw_step, loaded, token_id, own, aggregation, details, forced=is_forced)
                if pending is not None:
                    yield pending.result()
                pending = job
            if pending is not None:
                yield pending.result()
                pending = None
        finally:
            if pending is not None:
                pending.cancel()


def _raw_step(
    loaded: LoadedModel,
    token_id: int,
    out: Outputs,
    aggregation: str,
    details: Collection[str],
    *,
    forced: bool = False,
) -> RawStep:
    heads = lens = None
    if "heads" in details:
        heads = detail.head_detail(out.attentions)
        entropy = heads.entropy.mean(axis=-1)
    else:
        entropy = metrics.attention_entropies(out.attentions)
    if "lens" in details:
        # The last state is already normed: its lens is the step's own logits.
        lens = detail.lens_detail(np.concatenate((loaded.unembed(out.hidden_states[:-1]), out.logits)))
    return RawStep(
        token_id,
        out.logits[0],
        metrics.layer_activations(out.hidden_states, aggregation),
        entropy,
        forced,
        heads,
        lens,
    )


def token_text(loaded: LoadedModel, token_id: int) -> str:
    """The token alone, decoded (special tokens included), cached per model."""
    text = loaded.token_texts.get(token_id)
    if text is None:
        text = loaded.tokenizer.decode([token_id], skip_special_tokens=False)
        loaded.token_texts[token_id] = text
    return text


def _is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, MemoryError) or "out of memory" in str(exc).lower()


def generate(
    loaded: LoadedModel,
    request: EffectiveRequest,
    prompt_ids: Sequence[int],
    emit: Emit,
    *,
    started: float,
    cancelled: Cancelled = lambda: False,
) -> DoneEvent:
    """Run one generation, emitting `status`, one `step` per token, then `done` (after `error` on failure).

    `started` is the `time.perf_counter()` of the request; `elapsed_ms` counts from it. `cancelled` is
    polled before every forward pass, so a reader that went away stops the loop within one step.
    """

    def elapsed() -> float:
        return (time.perf_counter() - started) * 1000.0

    def text_of(token_id: int) -> str:
        return token_text(loaded, token_id)

    forced = request.forced.token_ids if request.forced else []
    echo = request.forced.echo if request.forced else True
    steps = 0
    reason: DoneReason = "max_tokens"
    emit(StatusEvent(phase="generating", progress=0.0))
    try:
        sampler = Sampler(request)
        detokenizer = IncrementalDetokenizer(loaded.tokenizer, prompt_ids)
        if not echo:  # the client has these steps already: they are numbered, not sent
            for token_id in forced:
                detokenizer.add(token_id)
                steps += 1
                if token_id in loaded.eos_ids:
                    return _done(emit, "eos", steps, elapsed())
        raw_steps = iter_steps(
            loaded,
            prompt_ids,
            sampler,
            request.aggregation,
            request.max_new_tokens,
            forced,
            forced_outputs=echo,
            details=request.detail or (),
        )
        try:
            while True:
                if cancelled():
                    reason = "stopped"
                    break
                raw = next(raw_steps, None)
                if raw is None:
                    break
                summary = metrics.summarize_logits(raw.logits, request.top_n)
                delta = detokenizer.add(raw.token_id)
                emit(
                    wire.step_event(
                        steps,
                        raw.token_id,
                        delta,
                        summary,
                        raw.activations,
                        raw.attention_entropy,
                        elapsed(),
                        text_of,
                        forced=raw.forced,
                        heads=raw.heads,
                        lens=raw.lens,
                    )
                )
                steps += 1
                if raw.token_id in loaded.eos_ids:
                    reason = "eos"
                    break
        finally:
            raw_steps.close()
    except Exception as exc:
        log.exception("generation failed after %d steps", steps)
        emit(
            ErrorEvent(
                code="generation_failed",
                message=f"generation failed at step {steps}; the server log has the details",
                retryable=_is_out_of_memory(exc),
            )
        )
        reason = "error"
    return _done(emit, reason, steps, elapsed())


def _done(emit: Emit, reason: DoneReason, steps: int, elapsed_ms: float) -> DoneEvent:
    done = DoneEvent(reason=reason, steps=steps, elapsed_ms=wire.round_one(elapsed_ms, wire.MS_DECIMALS))
    emit(done)
    return done
