"""Opt-in per-step detail (`RunRequest.detail`): each head's attention and each layer's logit lens.

`heads`: per layer and head, the entropy of the newest position's attention row (the per-layer
`attention_entropy` is their mean) and the positions it weighs most. `lens`: per hidden state (the
embeddings, then every block), the top next-token candidates after the model's final norm and
unembedding; the last row is the step's own distribution. The engine gives the logits
(`LoadedModel.unembed`); the arithmetic over them is here, the same for every engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HEAD_POSITIONS = 8
"""Positions per head: the most attended, strongest first (fewer while the sequence is shorter)."""
LENS_TOP = 5
"""Candidates per layer of the logit lens."""


@dataclass(frozen=True)
class HeadDetail:
    entropy: np.ndarray
    """(layers, heads): entropy in nats of each head's attention row for the newest position."""
    positions: np.ndarray
    """(layers, heads, k) int: the positions each head weighs most, strongest first."""
    weights: np.ndarray
    """(layers, heads, k): their attention weights."""


def head_detail(rows: np.ndarray, k: int = HEAD_POSITIONS) -> HeadDetail:
    """From `rows` (layers, heads, length), the attention of the newest position."""
    entropy = -np.sum(rows * np.log(rows + np.float32(1e-9)), axis=-1)  # as `metrics.attention_entropies`
    k = min(k, rows.shape[-1])
    top = np.argpartition(rows, -k, axis=-1)[..., -k:]
    weights = np.take_along_axis(rows, top, axis=-1)
    order = np.argsort(-weights, axis=-1, kind="stable")
    return HeadDetail(
        entropy,
        np.take_along_axis(top, order, axis=-1),
        np.take_along_axis(weights, order, axis=-1),
    )


@dataclass(frozen=True)
class LensDetail:
    ids: np.ndarray
    """(rows, k) int: each hidden state's most likely next tokens, most likely first."""
    probs: np.ndarray
    """(rows, k): their probabilities (softmax over the whole vocabulary)."""


def lens_detail(logits: np.ndarray, k: int = LENS_TOP) -> LensDetail:
    """Top-`k` of each row of `logits` (rows, vocab), with softmax probabilities."""
    logits = np.asarray(logits, dtype=np.float32)
    rows = np.arange(logits.shape[0])
    # k arg-max passes over a copy: for a handful of candidates several times faster than argpartition.
    work = logits.copy()
    ids = np.empty((logits.shape[0], k), dtype=np.int64)
    for i in range(k):
        top = work.argmax(axis=1)
        ids[:, i] = top
        work[rows, top] = -np.inf
    top_logits = logits[rows[:, None], ids]
    peak = top_logits[:, :1]
    np.subtract(logits, peak, out=work)
    with np.errstate(under="ignore"):
        np.exp(work, out=work)
    return LensDetail(ids, np.exp(top_logits - peak) / work.sum(axis=1, keepdims=True))
