"""Opt-in step detail (`detail: ["heads", "lens"]`) on the bundled SmolLM2-135M-Instruct: its
invariants, both engines giving the same detail, and requests for detail refused before streaming.

Tolerances between the engines (rounded numbers plus their float32 difference):
- head entropies (3 decimals): <= 0.0011 + 1e-4 x value; the top positions of a head: the same set
  wherever the weights around the cut differ by more than 1 point;
- head weights and covered share (whole percent): <= 1;
- lens: the same top-5 ids where neighbouring probabilities differ by more than 0.002, probabilities
  (3 decimals) <= 0.0011.
"""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest

from mav_server import generation
from mav_server.config import Settings
from mav_server.detail import head_detail, lens_detail
from mav_server.engines import torch as torch_engine
from mav_server.models import ModelRegistry
from mav_server.protocol import MetaEvent, StatusEvent, StepEvent
from mav_server.wire import event_data

from .conftest import run_events
from .tiny import tiny_gpt2_source

DETAIL = {
    "prompt": "The capital of France is",
    "chat": False,
    "max_new_tokens": 12,
    "detail": ["heads", "lens"],
}


def steps_of(events: list[Any]) -> list[StepEvent]:
    return [e for e in events if isinstance(e, StepEvent)]


@pytest.fixture(scope="module")
def torch_detail(smol_registry: ModelRegistry, smol: Any) -> list[Any]:
    return run_events(smol_registry, DETAIL)


@pytest.fixture(scope="module")
def numpy_detail(numpy_registry: ModelRegistry, numpy_smol: Any) -> list[Any]:
    return run_events(numpy_registry, DETAIL)


@pytest.mark.parametrize("engine", ["torch", "numpy"])
def test_detail_invariants(engine: str, request: pytest.FixtureRequest, validate: Any) -> None:
    events = request.getfixturevalue(f"{engine}_detail")
    meta = events[0]
    assert isinstance(meta, MetaEvent) and meta.request.detail == ["heads", "lens"]
    prompt_length = len(meta.prompt_tokens)
    steps = steps_of(events)
    assert len(steps) == 12
    for step in steps:
        validate("step_event", step.model_dump(exclude_none=True))
        heads, lens = step.heads, step.lens
        assert heads is not None and lens is not None
        assert len(heads.entropy) == 30 and all(len(layer) == 9 for layer in heads.entropy)
        # The per-layer attention entropy is the mean over the heads (both rounded to 3 decimals).
        for layer, mean in zip(heads.entropy, step.attention_entropy, strict=True):
            assert abs(sum(layer) / len(layer) - mean) <= 0.0011
        length = prompt_length + step.step  # the position before the token attends to itself and before
        for positions, weights, covered in zip(
            (p for layer in heads.positions for p in layer),
            (w for layer in heads.weights_pct for w in layer),
            (c for layer in heads.covered_pct for c in layer),
            strict=True,
        ):
            assert len(positions) == min(8, length) == len(weights)
            assert len(set(positions)) == len(positions) and all(0 <= p < length for p in positions)
            assert weights == sorted(weights, reverse=True)
            assert abs(sum(weights) - covered) <= len(weights) // 2 + 1
        # Row 0 is the embeddings, then each block; the last row is the step's own prediction.
        assert len(lens.ids) == 31 and all(len(row) == 5 for row in lens.ids)
        assert lens.ids[-1] == [entry.id for entry in step.top[:5]]
        for prob, entry in zip(lens.probs[-1], step.top, strict=False):
            assert abs(prob - entry.prob) <= 0.0006
        assert {int(k) for k in lens.texts} == {t for row in lens.ids for t in row}
        assert all(lens.texts[str(entry.id)] == entry.text for entry in step.top[:5])


def test_engines_give_the_same_detail(torch_detail: list[Any], numpy_detail: list[Any]) -> None:
    ours, theirs = steps_of(numpy_detail), steps_of(torch_detail)
    assert [s.token.id for s in ours] == [s.token.id for s in theirs]
    for a, b in zip(ours, theirs, strict=True):
        assert a.heads is not None and b.heads is not None and a.lens is not None and b.lens is not None
        for layer_a, layer_b in zip(a.heads.entropy, b.heads.entropy, strict=True):
            for x, y in zip(layer_a, layer_b, strict=True):
                assert abs(x - y) <= 0.0011 + 1e-4 * y
        for pa, pb, wa, wb, ca, cb in zip(
            (p for layer in a.heads.positions for p in layer),
            (p for layer in b.heads.positions for p in layer),
            (w for layer in a.heads.weights_pct for w in layer),
            (w for layer in b.heads.weights_pct for w in layer),
            (c for layer in a.heads.covered_pct for c in layer),
            (c for layer in b.heads.covered_pct for c in layer),
            strict=True,
        ):
            assert all(abs(x - y) <= 1 for x, y in zip(wa, wb, strict=True)) and abs(ca - cb) <= 1
            strong = [p for p, w in zip(pb, wb, strict=True) if w > wb[-1] + 1]  # clear of the cut
            assert set(strong) <= set(pa)
        for ids_a, ids_b, probs_a, probs_b in zip(
            a.lens.ids, b.lens.ids, a.lens.probs, b.lens.probs, strict=True
        ):
            assert all(abs(x - y) <= 0.0011 for x, y in zip(probs_a, probs_b, strict=True))
            clear = [
                i
                for i in range(5)
                if (i == 0 or probs_b[i - 1] - probs_b[i] > 0.002)
                and (i == 4 or probs_b[i] - probs_b[i + 1] > 0.002)
            ]
            assert [ids_a[i] for i in clear] == [ids_b[i] for i in clear]


def test_default_run_has_no_detail(smol_registry: ModelRegistry, smol: Any) -> None:
    events = run_events(smol_registry, {**DETAIL, "detail": [], "max_new_tokens": 3})
    assert "detail" not in event_data(events[0])
    assert all('"heads"' not in event_data(s) and '"lens"' not in event_data(s) for s in steps_of(events))


def test_detail_size_budget(torch_detail: list[Any]) -> None:
    """A 30-layer, 9-head step with every detail on stays under 24 KB (the benchmark measures 256 tokens)."""
    sizes = [len(event_data(s).encode()) for s in steps_of(torch_detail)]
    print(f"30-layer step bytes with heads and lens: max {max(sizes)}")
    assert max(sizes) <= 24 * 1024


def test_detail_a_model_cannot_give_is_refused(serve: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(torch_engine.FINAL_NORMS, "gpt2")  # as for an architecture without a known norm
    registry = ModelRegistry([tiny_gpt2_source()], device="cpu")
    server = serve(Settings(), registry)
    listed = httpx.get(f"{server.url}/api/models", timeout=30).json()["models"]
    assert [m["detail"] for m in listed] == [["heads"]]  # what the 400 below is checked against
    refused = httpx.post(f"{server.url}/api/run", json={"prompt": "hi", "detail": ["lens"]}, timeout=30)
    assert refused.status_code == 400 and refused.headers["content-type"].startswith("application/json")
    error = refused.json()["error"]
    assert error["field"] == "detail" and "lens" in error["message"]
    heads = run_events(registry, {"prompt": "hi", "max_new_tokens": 2, "detail": ["heads"]})
    assert all(s.heads is not None and s.lens is None for s in steps_of(heads))


def test_lens_and_head_arithmetic_against_sorting() -> None:
    rng = np.random.default_rng(3)
    logits = (rng.standard_normal((31, 4000)) * 3).astype(np.float32)
    lens = lens_detail(logits)
    expected = np.argsort(-logits, axis=1, kind="stable")[:, :5]
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    assert (lens.ids == expected).all()
    assert np.allclose(lens.probs, np.take_along_axis(probs, expected, axis=1), atol=1e-6)
    rows = rng.random((2, 3, 12)).astype(np.float32)
    rows /= rows.sum(axis=-1, keepdims=True)
    heads = head_detail(rows)
    assert (heads.positions == np.argsort(-rows, axis=-1, kind="stable")[..., :8]).all()
    assert np.allclose(heads.weights, -np.sort(-rows, axis=-1)[..., :8])
    assert np.allclose(heads.entropy, -(rows * np.log(rows + 1e-9)).sum(axis=-1), atol=1e-5)
    assert head_detail(rows[..., :3]).positions.shape == (2, 3, 3)  # fewer positions than 8


@pytest.mark.parametrize("model", ["tiny-gpt2", "tiny-broken"])
def test_detail_beside_the_next_pass_gives_the_same_events(
    model: str, tiny_registry: ModelRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker that computes a step's detail while the next pass runs changes no event, forced
    steps and a pass that fails mid-run (every step before it still out, then the error) included."""
    body = {
        "model": model,
        "prompt": "Hello there",
        "max_new_tokens": 6,
        "forced": {"model": model, "token_ids": [11, 12]},
        "detail": ["heads", "lens"],
    }

    def run(overlap: bool) -> list[dict[str, Any]]:
        monkeypatch.setattr(generation, "OVERLAP_LENS", overlap)
        events = [e for e in run_events(tiny_registry, body) if not isinstance(e, (MetaEvent, StatusEvent))]
        return [{"kind": type(e).__name__} | e.model_dump(exclude={"elapsed_ms"}) for e in events]

    inline, overlapped = run(False), run(True)
    assert overlapped == inline
    assert sum(e["kind"] == "StepEvent" for e in inline) >= 2


def test_a_detail_run_shares_the_threads_between_its_passes_and_its_worker(
    tiny_registry: ModelRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """torch's pool sized for the machine on both sides would oversubscribe it: the passes of a detail
    run take half of the model's threads and the worker computing the lens the rest."""
    import torch

    loaded = tiny_registry.get("tiny-gpt2")
    monkeypatch.setattr(loaded, "threads", 3)
    seen: dict[str, set[int]] = {"passes": set(), "lens": set()}
    make_decoder, unembed = loaded.decoder, loaded.unembed

    def decoder(capacity: int) -> Any:
        made = make_decoder(capacity)
        forward = made.forward

        def counted(token_ids: np.ndarray, keep: int = 1) -> Any:
            seen["passes"].add(torch.get_num_threads())
            return forward(token_ids, keep)

        made.forward = counted
        return made

    def lens(states: np.ndarray) -> np.ndarray:
        seen["lens"].add(torch.get_num_threads())
        return unembed(states)

    monkeypatch.setattr(loaded, "decoder", decoder)
    monkeypatch.setattr(loaded, "unembed", lens)
    body = {"model": "tiny-gpt2", "prompt": "Hello", "max_new_tokens": 4}
    run_events(tiny_registry, {**body, "detail": ["lens"]})
    assert seen == {"passes": {1}, "lens": {2}}
    run_events(tiny_registry, body)
    assert seen["passes"] == {1, 3}  # a run without the worker has them all
