"""The generation loop: KV-cached forward passes, one `step` event per token.

The first forward pass covers the prompt; every later pass feeds the newest token with the KV cache
and returns its position's logits, hidden states and attention rows, which is all openmav's metrics
read. Llama-architecture models run `decode_llama`'s lean forward (the same math without
transformers' per-call machinery), which also feeds a guess of the token after it (`drafting`): when
the sampler chooses the guess, that pass has given two steps. Other models run the transformers
forward with `output_hidden_states`/`output_attentions`, one pass per token (for a long prompt: a
cache-only pass over all but its last token, then the last token alone).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from transformers import DynamicCache

from . import decode_llama, metrics
from .decode_llama import LlamaDecoder, LlamaWeights, Outputs
from .detokenize import IncrementalDetokenizer
from .drafting import PromptLookup
from .models import LoadedModel
from .protocol import (
    DoneEvent,
    DoneReason,
    EffectiveRequest,
    ErrorEvent,
    Event,
    StatusEvent,
    StepEvent,
    json_number,
    to_json,
)
from .sampling import Sampler

log = logging.getLogger("mav_server.engine")

Emit = Callable[[Event], None]
Cancelled = Callable[[], bool]


@dataclass(frozen=True)
class RawStep:
    """One forward pass, before rounding: what the parity tests compare with openmav."""

    token_id: int
    logits: torch.Tensor
    """Raw logits for the newest position, shape (vocab,), float32."""
    activations: np.ndarray
    attention_entropy: np.ndarray


PROMPT_ATTENTION_BYTES = 64 * 2**20
"""Largest size of the prompt's attention maps (all layers, float32) kept for the first step."""


def first_window_start(config: Any, prompt_length: int) -> int:
    """Where the first forward pass with outputs starts.

    0 (the whole prompt in one pass, no extra pass before the first step) when the prompt's attention
    maps are small; otherwise the prompt's last token, after a cache-only pass over the rest, so that a
    long prompt never holds every layer's full attention map at once. openmav reads only the newest
    position either way.
    """
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    maps = text.num_hidden_layers * text.num_attention_heads * prompt_length * prompt_length * 4
    return 0 if maps <= PROMPT_ATTENTION_BYTES else prompt_length - 1


Forward = Callable[[int, "int | None"], list[Outputs]]
"""One forward pass over the tokens of the sequence buffer not fed yet, up to the given length, and a
guess of the token at that length (lean path only): the outputs of the newest position, then the
guess's."""


def lean_weights(loaded: LoadedModel) -> LlamaWeights | None:
    """The fused weights for `decode_llama`'s lean path, or None when the model must take the HF forward.

    Checked on every run (hooks may have been added since the last one); fused once per model.
    """
    if decode_llama.unsupported_reason(loaded.model, loaded.device) is not None:
        return None
    with loaded.lock:
        if loaded.lean_weights is None or not loaded.lean_weights.is_current():
            loaded.lean_weights = LlamaWeights(loaded.model)
        return loaded.lean_weights


def decode_path(loaded: LoadedModel) -> str:
    """Which forward pass `iter_steps` runs for this model, in words (for logs and the benchmark)."""
    reason = decode_llama.unsupported_reason(loaded.model, loaded.device)
    if reason is None:
        return "lean Llama decode (mav_server.decode_llama)"
    return f"transformers forward ({reason})"


def _hf_forward(model: Any, sequence: torch.Tensor, prompt_length: int) -> Forward:
    cache = DynamicCache(config=model.config)
    fed = first_window_start(model.config, prompt_length)
    if fed > 0:
        model(sequence[:, :fed], past_key_values=cache, use_cache=True)

    def forward(length: int, guess: int | None) -> list[Outputs]:
        nonlocal fed
        out = model(
            sequence[:, fed:length],
            past_key_values=cache,
            use_cache=True,
            output_hidden_states=True,
            output_attentions=True,
        )
        fed = length
        # openmav's formulas in half precision overflow (squared norms) or turn into NaN (its
        # log(p + 1e-9) underflows to log(0)); the newest position alone is cheap to upcast.
        return [
            Outputs(
                logits=out.logits[:, -1, :].to(dtype=torch.float32),
                hidden_states=metrics.newest_hidden_states(out.hidden_states).float(),
                attentions=metrics.newest_attention_rows(out.attentions).float(),
            )
        ]

    return forward


PROMPT_CHUNK = 512
"""Prompt tokens per lean forward pass: a pass holds one layer's scores for all its tokens at a time
(heads x chunk x length floats), so a long prompt goes through in chunks (36 MB at 9 heads and 2,048
tokens); only the last chunk's newest position is read."""


def _lean_forward(weights: LlamaWeights, sequence: torch.Tensor) -> Forward:
    decoder = LlamaDecoder(weights, capacity=sequence.shape[1])

    def forward(length: int, guess: int | None) -> list[Outputs]:
        if decoder.length >= length:  # the last pass's guess was not chosen: its cache entry goes
            decoder.rewind(length - 1)
        while length - decoder.length > PROMPT_CHUNK:
            decoder.forward(sequence[0, decoder.length : decoder.length + PROMPT_CHUNK])
        if guess is None:
            return decoder.forward(sequence[0, decoder.length : length])
        sequence[0, length] = guess  # overwritten by the token chosen there
        return decoder.forward(sequence[0, decoder.length : length + 1], keep=2)

    return forward


def iter_steps(
    loaded: LoadedModel,
    prompt_ids: Sequence[int],
    sampler: Sampler,
    aggregation: str,
    max_new_tokens: int,
    *,
    guess: bool = True,
) -> Iterator[RawStep]:
    """Yield one `RawStep` per new token; the forward pass for a step runs only when it is asked for.

    Llama-architecture models that `decode_llama` supports take its lean path, every other model the
    transformers forward; both give the same numbers (tests/test_decode_llama.py). On the lean path each
    pass also checks a guess of the token after the one it feeds (`drafting`), so one pass can yield two
    steps; `guess=False` runs one pass per token.
    """
    sequence = torch.empty((1, len(prompt_ids) + max_new_tokens), dtype=torch.long, device=loaded.device)
    sequence[0, : len(prompt_ids)] = torch.tensor(list(prompt_ids), dtype=torch.long)
    length = len(prompt_ids)
    weights = lean_weights(loaded)
    with torch.inference_mode():
        if weights is not None:
            forward = _lean_forward(weights, sequence)
        else:
            forward = _hf_forward(loaded.model, sequence, length)
    lookup = PromptLookup(prompt_ids) if guess and weights is not None else None
    produced = 0
    guessed: int | None = None
    while produced < max_new_tokens:
        with torch.inference_mode():
            outputs = forward(length, guessed)
        # outputs[0] is the position before `length`; outputs[1], when there is a guess, the guess's,
        # which counts only if the sampler chooses the guess at `length`.
        for out in outputs:
            with torch.inference_mode():
                token_id = sampler.choose(sequence[:, :length], out.logits)
                activations = metrics.layer_activations(out.hidden_states, aggregation)
                entropies = metrics.attention_entropies(out.attentions)
            sequence[0, length] = token_id
            length += 1
            produced += 1
            if lookup is not None:
                lookup.append(token_id)
            yield RawStep(token_id, out.logits[0], activations, entropies)
            if token_id != guessed:
                break
        # A guess needs two more tokens to be worth a row: the pass that checks it yields both.
        guessed = lookup.guess() if lookup is not None and max_new_tokens - produced >= 2 else None


def token_text(loaded: LoadedModel, token_id: int) -> str:
    """The token alone, decoded (special tokens included), cached per model."""
    text = loaded.token_texts.get(token_id)
    if text is None:
        text = loaded.tokenizer.decode(
            [token_id], skip_special_tokens=False, clean_up_tokenization_spaces=False
        )
        loaded.token_texts[token_id] = text
    return text


TOP_ENTRY_BYTES = len(to_json({"id": 0, "text": "", "prob": 0.0, "logit": 0.0})) - len('0""00')
"""Bytes of one `top` entry's JSON besides its four values (braces, keys, colons, commas)."""


def top_json_bytes(top: list[dict[str, Any]]) -> int:
    """`len(to_json(top).encode("utf-8"))`, counted from the values without writing the JSON (the event
    is written once, when it is sent)."""
    size = 2 + max(len(top) - 1, 0)  # brackets and the commas between entries
    for entry in top:
        size += (
            TOP_ENTRY_BYTES
            + len(str(entry["id"]))
            + len(to_json(entry["text"]).encode("utf-8"))
            + len(json_number(entry["prob"]))
            + len(json_number(entry["logit"]))
        )
    return size


def step_event(
    loaded: LoadedModel, step: int, raw: RawStep, top_n: int, text_delta: str, elapsed_ms: float
) -> StepEvent:
    """Build a step event from one forward pass.

    This runs once per token and must cost next to nothing beside the forward pass: the values are made
    here, typed and rounded, and pydantic validates the event in one call (faster than assembling it
    from `model_construct` parts).
    """
    summary = metrics.summarize_logits(raw.logits, top_n)
    probs = metrics.rounded(summary.top_probs[:top_n], metrics.PROB_DECIMALS)
    logits = metrics.rounded(summary.top_logits, metrics.LOGIT_DECIMALS)
    top = [
        {"id": token_id, "text": token_text(loaded, token_id), "prob": prob, "logit": logit}
        for token_id, prob, logit in zip(summary.top_ids, probs, logits, strict=False)
    ]
    return StepEvent.model_validate(
        {
            "step": step,
            "token": {"id": raw.token_id, "text": token_text(loaded, raw.token_id)},
            "text_delta": text_delta,
            "top": top,
            "activations": metrics.rounded(raw.activations, metrics.ACTIVATION_DECIMALS),
            "attention_entropy": metrics.rounded(raw.attention_entropy, metrics.ENTROPY_DECIMALS),
            "distribution": {
                "entropy": metrics.round_one(summary.entropy, metrics.ENTROPY_DECIMALS),
                "top_probs": metrics.fit_top_probs(summary.top_probs, top_json_bytes(top), top_n),
            },
            "elapsed_ms": metrics.round_one(elapsed_ms, metrics.MS_DECIMALS),
        }
    )


def _is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, torch.OutOfMemoryError | MemoryError) or "out of memory" in str(exc).lower()


def generate(
    loaded: LoadedModel,
    request: EffectiveRequest,
    prompt_ids: Sequence[int],
    emit: Emit,
    *,
    started: float,
    cancelled: Cancelled = lambda: False,
    stop_at_eos: bool = True,
    guess: bool = True,
) -> DoneEvent:
    """Run one generation, emitting `status`, one `step` per token, then `done` (after `error` on failure).

    `started` is the `time.perf_counter()` of the request; `elapsed_ms` counts from it. `cancelled` is
    polled before every forward pass, so a reader that went away stops the loop within one step.
    `stop_at_eos=False` keeps going past the end token (benchmarks that need exactly N tokens);
    `guess=False` runs one forward pass per token (see `iter_steps`).
    """

    def elapsed() -> float:
        return (time.perf_counter() - started) * 1000.0

    steps = 0
    reason: DoneReason = "max_tokens"
    emit(StatusEvent(phase="generating", progress=0.0))
    try:
        sampler = Sampler(request, loaded.device)
        detokenizer = IncrementalDetokenizer(loaded.tokenizer, prompt_ids)
        raw_steps = iter_steps(
            loaded, prompt_ids, sampler, request.aggregation, request.max_new_tokens, guess=guess
        )
        try:
            while True:
                if cancelled():
                    reason = "stopped"
                    break
                raw = next(raw_steps, None)
                if raw is None:
                    break
                delta = detokenizer.add(raw.token_id)
                emit(step_event(loaded, steps, raw, request.top_n, delta, elapsed()))
                steps += 1
                if stop_at_eos and raw.token_id in loaded.eos_ids:
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
    done = DoneEvent(reason=reason, steps=steps, elapsed_ms=metrics.round_one(elapsed(), metrics.MS_DECIMALS))
    emit(done)
    return done
