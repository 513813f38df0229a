"""The wire: how numbers are rounded and events become JSON text (PROTOCOL.md, "Numbers").

Every field has one fixed precision, whatever the step's other contents: `top[].prob` 4 decimals,
`distribution.top_probs` 3 (the chart sums them five to a bin; the first `top_n` are in `top` at 4),
logits and activations 2, entropies 3, milliseconds 1. Numbers are written in their shortest form (`0`,
`4e-4`): a 12-layer step with `top_n` 20 takes under 2 KB, except flat distributions with long token
texts.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .detail import HeadDetail, LensDetail
from .metrics import DistributionSummary
from .protocol import Event, StepEvent

PROB_DECIMALS = 4
"""`top[].prob`."""
TOP_PROBS_DECIMALS = 3
"""`distribution.top_probs`."""
LOGIT_DECIMALS = 2
"""`top[].logit`."""
ACTIVATION_DECIMALS = 2
"""`activations`."""
ENTROPY_DECIMALS = 3
"""`attention_entropy` and `distribution.entropy`."""
MS_DECIMALS = 1
"""`elapsed_ms`."""
LENS_DECIMALS = 3
"""`lens.probs`."""


def rounded(values: Iterable[float], decimals: int) -> list[float]:
    """Round for the wire; NaN and infinities (which JSON cannot carry) become 0."""
    if isinstance(values, np.ndarray):
        values = values.tolist()  # Python floats at once, not one NumPy scalar per element
    isfinite = math.isfinite
    return [round(v, decimals) if isfinite(v) else 0.0 for v in map(float, values)]


def round_one(value: float, decimals: int) -> float:
    return round(float(value), decimals) if math.isfinite(value) else 0.0


def step_event(
    step: int,
    token_id: int,
    text_delta: str,
    summary: DistributionSummary,
    activations: np.ndarray,
    attention_entropy: np.ndarray,
    elapsed_ms: float,
    text_of: Callable[[int], str],
    *,
    forced: bool = False,
    heads: HeadDetail | None = None,
    lens: LensDetail | None = None,
) -> StepEvent:
    """A step event from one position's numbers, rounded field by field; `text_of(id)` is a token's text.

    This runs once per token: the values are made here, typed and rounded, and pydantic validates the
    event in one call (faster than assembling it from `model_construct` parts).
    """
    probs = rounded(summary.top_probs[: len(summary.top_ids)], PROB_DECIMALS)
    logits = rounded(summary.top_logits, LOGIT_DECIMALS)
    top = [
        {"id": token, "text": text_of(token), "prob": prob, "logit": logit}
        for token, prob, logit in zip(summary.top_ids, probs, logits, strict=False)
    ]
    return StepEvent.model_validate(
        {
            "step": step,
            "token": {"id": token_id, "text": text_of(token_id)},
            "text_delta": text_delta,
            "top": top,
            "activations": rounded(activations, ACTIVATION_DECIMALS),
            "attention_entropy": rounded(attention_entropy, ENTROPY_DECIMALS),
            "distribution": {
                "entropy": round_one(summary.entropy, ENTROPY_DECIMALS),
                "top_probs": rounded(summary.top_probs, TOP_PROBS_DECIMALS),
            },
            "elapsed_ms": round_one(elapsed_ms, MS_DECIMALS),
            "forced": True if forced else None,
            **({"heads": heads_data(heads)} if heads is not None else {}),
            **({"lens": lens_data(lens, text_of)} if lens is not None else {}),
        }
    )


def _nested(values: np.ndarray, decimals: int) -> list[Any]:
    """A (rows, ...) array as nested lists of rounded numbers."""
    if values.ndim == 1:
        return rounded(values, decimals)
    return [_nested(row, decimals) for row in values]


def percent(values: np.ndarray) -> list[Any]:
    """Shares (0..1) as whole percents: two digits where `0.07` takes four, for the step's thousands of
    attention weights."""
    return np.rint(np.nan_to_num(values) * 100).astype(np.int64).clip(0, 100).tolist()


def heads_data(heads: HeadDetail) -> dict[str, Any]:
    return {
        "entropy": _nested(heads.entropy, ENTROPY_DECIMALS),
        "positions": heads.positions.tolist(),
        "weights_pct": percent(heads.weights),
        "covered_pct": percent(heads.weights.sum(axis=-1)),
    }


def lens_data(lens: LensDetail, text_of: Callable[[int], str]) -> dict[str, Any]:
    ids = lens.ids.tolist()
    return {
        "ids": ids,
        "probs": _nested(lens.probs, LENS_DECIMALS),
        "texts": {str(token): text_of(token) for token in sorted({t for row in ids for t in row})},
    }


@functools.lru_cache(maxsize=65536)
def json_number(value: float) -> str:
    """The shortest JSON text that reads back as exactly `value`.

    Integral values are written as integers (`0`, not `0.0`) and small ones in exponent form (`4e-4`,
    not `0.0004`): step events are size-bounded and most of their numbers are small probabilities.
    """
    if not math.isfinite(value):
        raise ValueError(f"JSON cannot carry {value!r}; round non-finite values before sending them")
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = repr(float(value))  # a float subclass (NumPy's) would write its own repr
    if abs(value) < 1e-3:
        for digits in range(17):
            short = f"{value:.{digits}e}"
            if float(short) == value:
                mantissa, _, exponent = short.partition("e")
                short = f"{mantissa}e{int(exponent)}"
                if len(short) < len(text):
                    text = short
                break
    return text


_json_string = json.encoder.encode_basestring
"""What `json.dumps(text, ensure_ascii=False)` returns for a `str`, without the encoder set-up per call."""


@functools.lru_cache(maxsize=1024)
def _json_key(key: str) -> str:
    return _json_string(key) + ":"


_INTS, _FLOATS = {int}, {float}


def to_json(value: Any) -> str:
    """Compact JSON (UTF-8 text, no spaces) with numbers written by `json_number`.

    This writes every step event (one per token), so the common types are dispatched on their exact
    type first; subclasses (e.g. NumPy floats) take the `isinstance` checks after.
    """
    kind = type(value)
    if kind is float or isinstance(value, float):
        return json_number(value)  # cached: rounded values repeat a lot
    if kind is str or isinstance(value, str):
        return _json_string(value)
    if value is None or kind is bool:
        return json.dumps(value)
    if kind is int or isinstance(value, int):
        return str(value)
    if kind is list or kind is tuple or isinstance(value, list | tuple):
        # A detail step has thousands of numbers in flat lists of one type: written without dispatch.
        kinds = set(map(type, value))
        if kinds == _INTS:
            return "[" + ",".join(map(str, value)) + "]"
        if kinds == _FLOATS:
            return "[" + ",".join(map(json_number, value)) + "]"
        return "[" + ",".join(map(to_json, value)) + "]"
    if kind is dict or isinstance(value, dict):
        return "{" + ",".join([_json_key(str(k)) + to_json(v) for k, v in value.items()]) + "}"
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def event_data(event: Event) -> str:
    """The JSON text of an event's `data:` line (compact, UTF-8, no null optional fields)."""
    return to_json(event.model_dump(exclude_none=True))
