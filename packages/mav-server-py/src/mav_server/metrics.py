"""Per-step numbers, in NumPy: openmav's layer metrics and the next-token distribution.

Layer activations and attention entropies are openmav's `DataConverter` formulas applied to the newest
position of one KV-cached forward pass (the position openmav reads: `[:, -1, :]` of each hidden state,
`[:, :, -1, :]` of each attention map), batched over layers. The parity tests hold them to openmav's own
`DataConverter`, for every engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .topk import top_indices

TOP_PROBS = 100
"""Length of `distribution.top_probs` (fewer when the vocabulary is smaller)."""


def layer_activations(hidden_states: np.ndarray, aggregation: str) -> np.ndarray:
    """openmav's "MLP activations" (`DataConverter.process_mlp_activations`): one number per hidden state
    (embeddings, then each block), from `hidden_states` of shape (layers + 1, hidden)."""
    if aggregation == "l2":
        return np.sqrt(np.einsum("ij,ij->i", hidden_states, hidden_states))
    if aggregation == "max_abs":
        return np.abs(hidden_states).max(axis=-1)
    raise ValueError(f"aggregation {aggregation!r} is not one of 'l2', 'max_abs'")


def attention_entropies(rows: np.ndarray) -> np.ndarray:
    """openmav's attention entropy (`DataConverter.compute_entropy`): per layer, the entropy of the newest
    token's attention row, mean over heads; `rows` of shape (layers, heads, length)."""
    entropy = -np.sum(rows * np.log(rows + np.float32(1e-9)), axis=-1)
    return entropy.mean(axis=-1)


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


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max()
    return shifted - np.log(np.exp(shifted).sum())


def summarize_logits(logits: np.ndarray, top_n: int) -> DistributionSummary:
    """Summarise a 1-D array of raw logits; `top_n` <= `TOP_PROBS` entries get ids and logits."""
    logits = np.asarray(logits, dtype=np.float32).reshape(-1)
    log_probs = log_softmax(logits)
    probs = np.exp(log_probs)
    with np.errstate(invalid="ignore"):  # -inf logits: 0 * -inf is NaN, and counts as 0
        entropy = float(-np.nansum(probs * log_probs))
    top = top_indices(probs[None], min(TOP_PROBS, probs.shape[-1]))[0]
    head = top[:top_n]
    return DistributionSummary(
        entropy=max(entropy, 0.0),
        top_ids=head.tolist(),
        top_logits=logits[head].tolist(),
        top_probs=probs[top].tolist(),
    )
