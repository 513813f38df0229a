"""Choosing the next token the way transformers' `generate` does, reproducibly from a seed."""

from __future__ import annotations

import torch
from transformers import LogitsProcessorList
from transformers.generation.logits_process import (
    MinPLogitsWarper,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from .protocol import RunRequest


def build_processors(request: RunRequest) -> LogitsProcessorList:
    """transformers' processors, in the order `generate` applies them.

    The repetition penalty applies to greedy runs too; temperature, top-k, top-p and min-p only when
    sampling (temperature > 0), as `generate(do_sample=...)` does.
    """
    processors = LogitsProcessorList()
    if request.repetition_penalty != 1.0:
        processors.append(RepetitionPenaltyLogitsProcessor(float(request.repetition_penalty)))
    if request.temperature > 0:
        if request.temperature != 1.0:
            processors.append(TemperatureLogitsWarper(float(request.temperature)))
        if request.top_k != 0:
            processors.append(TopKLogitsWarper(top_k=request.top_k))
        if request.top_p < 1.0:
            processors.append(TopPLogitsWarper(top_p=float(request.top_p)))
        if request.min_p > 0:
            processors.append(MinPLogitsWarper(min_p=float(request.min_p)))
    return processors


class Sampler:
    """Greedy at temperature 0; otherwise a draw from the filtered distribution with a seeded generator."""

    def __init__(self, request: RunRequest, device: torch.device) -> None:
        self.greedy = request.temperature == 0
        self.processors = build_processors(request)
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(request.seed)

    def choose(self, input_ids: torch.Tensor, logits: torch.Tensor) -> int:
        """`input_ids` (1, length) is the whole sequence so far; `logits` (1, vocab) the raw scores."""
        scores = self.processors(input_ids, logits.clone())
        if self.greedy:
            return int(torch.argmax(scores, dim=-1)[0])
        probs = torch.softmax(scores, dim=-1)
        return int(torch.multinomial(probs, num_samples=1, generator=self.generator)[0, 0])
