"""Choosing the next token with transformers' filters, reproducibly from a seed, in NumPy.

The filters are transformers' logits processors (`RepetitionPenaltyLogitsProcessor`,
`TemperatureLogitsWarper`, `TopKLogitsWarper`, `TopPLogitsWarper`, `MinPLogitsWarper`), applied in the
order `generate` applies them, operation for operation in float32; the tests hold them to `generate`'s
own processed scores. The draw is NumPy's (PCG64 seeded with the request's seed), so a seed draws the
same tokens on every engine.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .protocol import RunRequest


class Sampler:
    """Greedy at temperature 0; otherwise a draw from the filtered distribution."""

    def __init__(self, request: RunRequest) -> None:
        self.greedy = request.temperature == 0
        self.repetition_penalty = float(request.repetition_penalty)
        self.temperature = float(request.temperature)
        self.top_k = request.top_k
        self.top_p = float(request.top_p)
        self.min_p = float(request.min_p)
        self.rng = np.random.Generator(np.random.PCG64(request.seed))

    def filtered(self, tokens: Sequence[int], logits: np.ndarray) -> np.ndarray:
        """The scores after every filter (-inf where a token is filtered out), shape (vocab,).

        The repetition penalty applies to greedy runs too; temperature, top-k, top-p and min-p only
        when sampling, as `generate(do_sample=...)` does.
        """
        scores = np.array(logits, dtype=np.float32).reshape(-1)
        if self.repetition_penalty != 1.0 and len(tokens):
            seen = np.unique(np.asarray(tokens, dtype=np.int64))
            values = scores[seen]
            penalty = np.float32(self.repetition_penalty)
            scores[seen] = np.where(values < 0, values * penalty, values / penalty)
        if self.greedy:
            return scores
        if self.temperature != 1.0:
            scores = scores / np.float32(self.temperature)
        if self.top_k != 0 and self.top_k < scores.shape[0]:
            kth = np.partition(scores, -self.top_k)[-self.top_k]
            scores[scores < kth] = -np.inf
        if self.top_p < 1.0:
            order = np.argsort(scores, kind="stable")  # ascending, as TopPLogitsWarper sorts
            cumulative = np.cumsum(softmax(scores[order]))
            remove = cumulative <= np.float32(1 - self.top_p)
            remove[-1] = False  # keep at least one token
            scores[order[remove]] = -np.inf
        if self.min_p > 0:
            probs = softmax(scores)
            remove = probs < np.float32(self.min_p) * probs.max()
            remove[np.argmax(probs)] = False
            scores[remove] = -np.inf
        return scores

    def advance(self, steps: int) -> None:
        """Move past `steps` forced steps: a sampled step draws one number, so a run continued after k
        forced tokens draws what the run made in one go draws from its step k on."""
        if not self.greedy and steps > 0:
            self.rng.random(steps)

    def choose(self, tokens: Sequence[int], logits: np.ndarray) -> int:
        """`tokens` is the whole sequence so far (the prompt included); `logits` the raw scores (1, vocab)."""
        scores = self.filtered(tokens, logits)
        if self.greedy:
            return int(np.argmax(scores))
        cumulative = np.cumsum(softmax(scores), dtype=np.float64)
        point = self.rng.random() * cumulative[-1]
        return int(min(np.searchsorted(cumulative, point, side="right"), scores.shape[0] - 1))


def softmax(scores: np.ndarray) -> np.ndarray:
    exp = np.exp(scores - scores.max())
    return exp / exp.sum()
