"""The numpy engine's runs against the torch engine's, event for event, and its numbers against openmav's
own, on the bundled SmolLM2-135M-Instruct.

Step events carry rounded numbers (wire.py); the tolerances are one unit of the last decimal plus the
float32 difference of the two engines:
- tokens, text and top ids: identical (greedy, and sampling with one seed);
- activations (2 decimals): |numpy - torch| <= 0.011 + 1e-5 x |torch|;
- attention entropies, distribution entropy and top_probs (3 decimals): <= 0.0011;
- top probabilities (4 decimals): <= 0.00011; top logits (2 decimals): <= 0.011.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from openmav.processors.state_processor import StateProcessor

from mav_server.engines.numpy.engine import NumpyModel
from mav_server.engines.torch import TorchModel
from mav_server.generation import iter_steps
from mav_server.models import ModelRegistry
from mav_server.protocol import DoneEvent, EffectiveRequest, MetaEvent, StepEvent
from mav_server.sampling import Sampler

from .conftest import run_events

RUNS = [
    {"prompt": "The capital of France is", "chat": False},
    {"prompt": "Wie spät ist es in Tokio? Antworte kurz. 🙂", "chat": True, "aggregation": "max_abs"},
    {"prompt": "Once upon a time", "chat": False, "temperature": 0.8, "top_p": 0.95, "seed": 7},
]


def steps(events: list[Any]) -> list[StepEvent]:
    assert isinstance(events[0], MetaEvent) and isinstance(events[-1], DoneEvent), events[-1]
    return [e for e in events if isinstance(e, StepEvent)]


@pytest.mark.parametrize("body", RUNS, ids=["greedy", "chat-max_abs", "sampled"])
def test_step_events_equal_the_torch_engine(
    body: dict[str, Any],
    smol_registry: ModelRegistry,
    numpy_registry: ModelRegistry,
    numpy_smol: NumpyModel,
    smol: TorchModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(smol, "threads", 1)  # a one-token pass is bound by memory; more threads contend
    request = {"max_new_tokens": 32, **body}
    ours, theirs = run_events(numpy_registry, request), run_events(smol_registry, request)
    meta, torch_meta = ours[0], theirs[0]
    assert meta.model.engine == "numpy" and torch_meta.model.engine == "torch"
    assert meta.prompt_tokens == torch_meta.prompt_tokens
    assert (meta.model.architecture, meta.model.n_layers, meta.model.n_heads, meta.model.vocab_size) == (
        torch_meta.model.architecture,
        torch_meta.model.n_layers,
        torch_meta.model.n_heads,
        torch_meta.model.vocab_size,
    )
    ours_steps, theirs_steps = steps(ours), steps(theirs)
    assert len(ours_steps) >= 4
    assert [s.token.id for s in ours_steps] == [s.token.id for s in theirs_steps]
    assert ours[-1].reason == theirs[-1].reason
    for a, b in zip(ours_steps, theirs_steps, strict=True):
        assert (a.token, a.text_delta) == (b.token, b.text_delta)
        assert [t.id for t in a.top] == [t.id for t in b.top], a.step
        assert [t.text for t in a.top] == [t.text for t in b.top]
        np.testing.assert_allclose([t.prob for t in a.top], [t.prob for t in b.top], rtol=0, atol=1.1e-4)
        np.testing.assert_allclose([t.logit for t in a.top], [t.logit for t in b.top], rtol=0, atol=0.011)
        np.testing.assert_allclose(a.activations, b.activations, rtol=1e-5, atol=0.011)
        np.testing.assert_allclose(a.attention_entropy, b.attention_entropy, rtol=0, atol=0.0011)
        assert len(a.distribution.top_probs) == len(b.distribution.top_probs)
        np.testing.assert_allclose(a.distribution.top_probs, b.distribution.top_probs, rtol=0, atol=0.0011)
        assert abs(a.distribution.entropy - b.distribution.entropy) <= 0.0011


@pytest.mark.parametrize("aggregation", ["l2", "max_abs"])
def test_numpy_metrics_match_openmav(numpy_smol: NumpyModel, smol: TorchModel, aggregation: str) -> None:
    """openmav's own path on the numpy engine's tokens: `TransformersBackend.generate` (a full, uncached
    forward of the torch model) then `StateProcessor.next` (its DataConverter calls), as
    tests/test_parity.py holds the torch engine to it."""
    torch.set_num_threads(1)
    prompt_ids = numpy_smol.tokenizer.encode("The capital of France is")
    request = EffectiveRequest(
        model=numpy_smol.card.id, prompt="x", max_new_tokens=4, aggregation=aggregation
    )
    ours = list(iter_steps(numpy_smol, prompt_ids, Sampler(request), aggregation, 4))
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
        np.testing.assert_allclose(step.activations, np.ravel(measured.mlp_activations), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(
            step.attention_entropy, np.ravel(measured.attention_entropy_values), rtol=1e-4, atol=1e-4
        )
        np.testing.assert_allclose(step.logits, out["logits"][0, -1].numpy(), rtol=1e-4, atol=1e-3)
        assert int(top_ids[0]) == step.token_id  # greedy: openmav's most likely token is ours
        sequence.append(step.token_id)
