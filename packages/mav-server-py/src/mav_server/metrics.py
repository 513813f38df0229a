"""Per-step numbers: openmav's layer metrics, the next-token distribution, and wire rounding.

Layer activations and attention entropies are openmav's `DataConverter` formulas applied to the newest
position of one KV-cached forward pass (the position openmav reads: `[:, -1, :]` of each hidden state,
`[:, :, -1, :]` of each attention map), batched over layers: one torch op for all layers instead of one
(and a NumPy conversion) per layer. The parity tests hold them to openmav's own `DataConverter`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

TOP_PROBS = 100
"""Length of `distribution.top_probs` (fewer when the vocabulary is smaller)."""

# Decimals on the wire (PROTOCOL.md, "Numbers"): enough for any chart, and a 12-layer step with top_n 20
# stays under 2,000 bytes.
PROB_DECIMALS = 4
LOGIT_DECIMALS = 2
ACTIVATION_DECIMALS = 2
ENTROPY_DECIMALS = 3
MS_DECIMALS = 1


def newest_hidden_states(hidden_states: Sequence[torch.Tensor]) -> torch.Tensor:
    """(layers + 1, hidden): the newest position of each of HF's `hidden_states` (batch 1)."""
    return torch.stack([layer[0, -1] for layer in hidden_states])


def newest_attention_rows(attentions: Sequence[torch.Tensor]) -> torch.Tensor:
    """(layers, heads, length): the newest position's attention row of each of HF's `attentions`."""
    return torch.stack([layer[0, :, -1] for layer in attentions])


def layer_activations(hidden_states: torch.Tensor, aggregation: str) -> np.ndarray:
    """openmav's "MLP activations" (`DataConverter.process_mlp_activations`): one number per hidden state
    (embeddings, then each block), from `hidden_states` of shape (layers + 1, hidden)."""
    if aggregation == "l2":
        values = torch.norm(hidden_states, p=2, dim=-1)
    elif aggregation == "max_abs":
        values = hidden_states.abs().max(dim=-1).values
    else:
        raise ValueError(f"aggregation {aggregation!r} is not one of 'l2', 'max_abs'")
    return values.numpy()


def attention_entropies(rows: torch.Tensor) -> np.ndarray:
    """openmav's attention entropy (`DataConverter.compute_entropy`): per layer, the entropy of the newest
    token's attention row, mean over heads; `rows` of shape (layers, heads, length)."""
    entropy = -torch.sum(rows * torch.log(rows + 1e-9), dim=-1)
    return entropy.mean(dim=-1).numpy()


@dataclass(frozen=True)
class DistributionSummary:
    """The next-token distribution of one step.

    Probabilities are the softmax of the raw logits the model produced for this position, before any
    sampling filter (repetition penalty, temperature, top-k, top-p, min-p): they describe the model, not
    the sampler. `entropy` is over the full vocabulary, in nats.
    """

    entropy: float
    top_ids: list[int]
    top_logits: list[float]
    top_probs: list[float]
    """The largest probabilities, descending (`TOP_PROBS` of them); `top_ids`/`top_logits` align with
    its first entries."""


def summarize_logits(logits: torch.Tensor, top_n: int) -> DistributionSummary:
    """Summarise a 1-D tensor of raw logits; `top_n` <= `TOP_PROBS` entries get ids and logits."""
    logits = logits.float()
    log_probs = torch.log_softmax(logits, dim=-1)
    probs = log_probs.exp()
    entropy = float(-(probs * log_probs).nan_to_num(0.0).sum())
    k = min(TOP_PROBS, probs.shape[-1])
    values, indices = torch.topk(probs, k)
    head = indices[:top_n]
    return DistributionSummary(
        entropy=max(entropy, 0.0),
        top_ids=head.tolist(),
        top_logits=logits[head].tolist(),
        top_probs=values.tolist(),
    )


STEP_TOP_BYTES = 1620
"""Bytes that `top` and `distribution.top_probs` may take together in a step with `top_n` <= 20: what is
left of 2,000 bytes after the rest of a 12-layer model's step (SSE lines, token, text, 25 layer numbers,
entropy, timing: about 360 bytes)."""


def fit_top_probs(top_probs: Sequence[float], top_bytes: int, top_n: int) -> list[float]:
    """`top_probs` rounded to 4 decimals, or to 3 or 2 when that is what keeps the step within budget.

    With `top_n` <= 20 a step is meant to stay under 2,000 bytes; a flat distribution (many probabilities
    around 0.001, each written as `0.0012,`) with long token texts would not, so the tail loses a
    decimal. `top[].prob` keeps its 4 decimals. Steps with `top_n` > 20 are large anyway and keep 4.
    """
    from .protocol import json_number

    values = rounded(top_probs, PROB_DECIMALS)
    if top_n > 20:
        return values
    for decimals in (PROB_DECIMALS - 1, PROB_DECIMALS - 2):
        # The array as JSON: numbers (ASCII), commas and brackets.
        if top_bytes + sum(map(len, map(json_number, values))) + len(values) + 1 <= STEP_TOP_BYTES:
            return values
        values = rounded(top_probs, decimals)
    return values


def rounded(values: Iterable[float], decimals: int) -> list[float]:
    """Round for the wire; NaN and infinities (which JSON cannot carry) become 0."""
    if isinstance(values, np.ndarray | torch.Tensor):
        values = values.tolist()  # Python floats at once, not one NumPy scalar per element
    isfinite = math.isfinite
    return [round(v, decimals) if isfinite(v) else 0.0 for v in map(float, values)]


def round_one(value: float, decimals: int) -> float:
    return round(float(value), decimals) if math.isfinite(value) else 0.0
