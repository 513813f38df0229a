"""Parity: our per-step numbers are openmav's numbers, and KV-cached steps equal a full recompute."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from openmav.converters.data_converter import DataConverter
from openmav.processors.state_processor import StateProcessor

from mav_server import metrics
from mav_server.engines.torch import decoders
from mav_server.generation import RawStep, iter_steps
from mav_server.protocol import EffectiveRequest
from mav_server.sampling import Sampler

from .tiny import TINY_GPT2_ID

RTOL = 1e-4
ATOL = 1e-4


def our_steps(loaded: Any, prompt_ids: list[int], n: int, aggregation: str) -> list[RawStep]:
    request = EffectiveRequest(model=loaded.card.id, prompt="x", max_new_tokens=n, aggregation=aggregation)
    return list(iter_steps(loaded, prompt_ids, Sampler(request), aggregation, n))


@pytest.mark.parametrize("aggregation", ["l2", "max_abs"])
def test_real_model_matches_openmav(smol: Any, aggregation: str) -> None:
    """openmav's own path on the same tokens: `TransformersBackend.generate` (a full, uncached
    `generate` step) then `StateProcessor.next` (its DataConverter calls)."""
    prompt_ids = smol.tokenizer.encode("The capital of France is")
    ours = our_steps(smol, prompt_ids, 4, aggregation)
    processor = StateProcessor(smol.backend, aggregation=aggregation)
    sequence = list(prompt_ids)
    for step in ours:
        out = smol.backend.generate(sequence, temperature=0.0)
        probs = torch.softmax(out["logits"][:, -1, :], dim=-1).squeeze()
        top_probs, top_ids = torch.topk(probs, 20)
        measured = processor.next(
            [*sequence, step.token_id],
            step.token_id,
            out["hidden_states"],
            out["attentions"],
            out["logits"],
            probs,
            top_ids,
            top_probs,
            smol.backend,
        )
        np.testing.assert_allclose(step.activations, np.ravel(measured.mlp_activations), rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(
            step.attention_entropy, np.ravel(measured.attention_entropy_values), rtol=RTOL, atol=ATOL
        )
        np.testing.assert_allclose(step.logits, out["logits"][0, -1].numpy(), rtol=RTOL, atol=1e-3)
        assert int(top_ids[0]) == step.token_id  # greedy: openmav's most likely token is ours
        sequence.append(step.token_id)


@pytest.mark.parametrize(
    ("model", "split_prompt"), [("tiny", False), ("tiny", True), ("smol", False), ("smol", True)]
)
def test_cached_steps_equal_full_recompute(
    model: str, split_prompt: bool, tiny_registry: Any, request: Any, monkeypatch: Any
) -> None:
    loaded = tiny_registry.get(TINY_GPT2_ID) if model == "tiny" else request.getfixturevalue("smol")
    if split_prompt:  # the long-prompt path: cache-only pass, then the prompt's last token alone
        monkeypatch.setattr(decoders, "PROMPT_ATTENTION_BYTES", 0)
    prompt_ids = loaded.tokenizer.encode("Once upon a time, in a small village,")
    ours = our_steps(loaded, prompt_ids, 5, "l2")
    sequence = list(prompt_ids)
    for step in ours:
        with torch.inference_mode():
            full = loaded.model(
                torch.tensor([sequence]), use_cache=False, output_hidden_states=True, output_attentions=True
            )
        activations = np.ravel(DataConverter.process_mlp_activations(full.hidden_states, "l2"))
        entropies = np.ravel(DataConverter.process_entropy(full.attentions))
        np.testing.assert_allclose(step.activations, activations, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(step.attention_entropy, entropies, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(step.logits, full.logits[0, -1].float().numpy(), rtol=RTOL, atol=1e-3)
        sequence.append(step.token_id)


def test_distribution_summary_definition() -> None:
    logits = torch.tensor([2.0, 1.0, 0.0, -1.0])
    summary = metrics.summarize_logits(logits.numpy(), top_n=2)
    probs = torch.softmax(logits, dim=-1)
    assert summary.top_ids == [0, 1]
    assert summary.top_logits == [2.0, 1.0]
    np.testing.assert_allclose(summary.top_probs, probs.numpy(), rtol=1e-6)
    np.testing.assert_allclose(summary.entropy, float(-(probs * probs.log()).sum()), rtol=1e-6)
