"""Branch and step mode: runs that continue from forced tokens (`forced`), on the real model.

The invariant: branching at step k with the token the original run chose there gives back the original
run's greedy continuation exactly, on both engines, whatever the prefix's length; and a sampled run
continued one step per request is the run made in one go.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mav_server.config import BUNDLED_MODEL_ID, Settings
from mav_server.protocol import event_name

from .conftest import run_events
from .sse_reader import iter_sse
from .test_http import wait_idle
from .tiny import TINY_GPT2_ID

PROMPT = "Write one sentence about the sea."
LENGTH = 24
BRANCH_AT = {"numpy": (0, 7, 16, LENGTH - 2), "torch": (1, 16)}
"""Steps to branch at: the first, a few in the middle, the last that leaves a token to generate (fewer on
torch, whose tests share the machine with a transformers model)."""


def steps_of(events: list[Any]) -> list[Any]:
    return [e for e in events if event_name(e) == "step"]


def branch(original: list[Any], k: int, body: dict[str, Any], **forced: Any) -> dict[str, Any]:
    """The request that forces the original's steps 0..k and generates the rest of its length."""
    ids = [s.token.id for s in original[: k + 1]]
    return {
        **body,
        "max_new_tokens": len(original) - k - 1,
        "forced": {"model": BUNDLED_MODEL_ID, "token_ids": ids, **forced},
    }


@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_branching_with_the_chosen_token_reproduces_the_greedy_run(
    engine: str, request: pytest.FixtureRequest, validate: Any
) -> None:
    registry = request.getfixturevalue("numpy_registry" if engine == "numpy" else "smol_registry")
    request.getfixturevalue("numpy_smol" if engine == "numpy" else "smol")
    body = {"prompt": PROMPT, "max_new_tokens": LENGTH}
    original = steps_of(run_events(registry, body))
    assert len(original) == LENGTH
    tokens = [s.token.id for s in original]
    for k in BRANCH_AT[engine]:
        events = run_events(registry, branch(original, k, body))
        meta, steps = events[0], steps_of(events)
        assert meta.forced_steps == k + 1 and meta.request.forced.token_ids == tokens[: k + 1]
        assert [s.token.id for s in steps] == tokens, f"branch at step {k}"
        assert [s.step for s in steps] == list(range(LENGTH))
        assert [bool(s.forced) for s in steps] == [i <= k for i in range(LENGTH)]
        # A forced step shows the model's own numbers at its position: what the original run showed.
        for ours, theirs in zip(steps, original, strict=True):
            assert [p.id for p in ours.top[:5]] == [p.id for p in theirs.top[:5]]
            assert ours.text_delta == theirs.text_delta
            assert ours.distribution.entropy == pytest.approx(theirs.distribution.entropy, abs=0.01)
        assert events[-1].steps == LENGTH
        for event in events:
            validate(f"{event_name(event)}_event", event.model_dump(exclude_none=True))


def test_step_mode_one_token_per_request_is_the_run(numpy_registry: Any, numpy_smol: Any) -> None:
    """Step mode sends the steps so far (`echo: false`) and asks for one more: the server keeps nothing."""
    body = {"prompt": PROMPT, "max_new_tokens": 8}
    whole = steps_of(run_events(numpy_registry, body))
    stepped: list[Any] = steps_of(run_events(numpy_registry, {**body, "max_new_tokens": 1}))
    while len(stepped) < len(whole):
        ids = [s.token.id for s in stepped]
        forced = {"model": BUNDLED_MODEL_ID, "token_ids": ids, "echo": False}
        events = run_events(numpy_registry, {**body, "max_new_tokens": 1, "forced": forced})
        new = steps_of(events)
        assert [s.step for s in new] == [len(ids)] and not new[0].forced  # only the new step is sent
        assert events[-1].steps == len(ids) + 1
        stepped += new
    assert [s.token.id for s in stepped] == [s.token.id for s in whole]
    assert "".join(s.text_delta for s in stepped) == "".join(s.text_delta for s in whole)


@pytest.mark.parametrize("echo", [True, False])
def test_sampled_run_continued_step_by_step_is_the_same_run(tiny_registry: Any, echo: bool) -> None:
    """A sampled step draws one number from the seeded generator: after k forced steps the draws go on
    from the k-th, so a seeded run continued one request at a time is the run made in one go."""
    body = {"model": TINY_GPT2_ID, "prompt": "Once upon", "temperature": 1.1, "top_k": 0, "seed": 11}
    whole = [s.token.id for s in steps_of(run_events(tiny_registry, {**body, "max_new_tokens": 8}))]
    stepped: list[int] = []
    while len(stepped) < len(whole):
        forced = {"forced": {"model": TINY_GPT2_ID, "token_ids": stepped, "echo": echo}} if stepped else {}
        steps = steps_of(run_events(tiny_registry, {**body, "max_new_tokens": 1, **forced}))
        stepped.append(steps[-1].token.id)
    assert stepped == whole
    other = [
        s.token.id for s in steps_of(run_events(tiny_registry, {**body, "max_new_tokens": 8, "seed": 12}))
    ]
    assert other != whole  # the seed matters, so the equality above is not a coincidence


def test_a_forced_end_token_ends_the_run(numpy_registry: Any, numpy_smol: Any) -> None:
    eos = min(numpy_smol.eos_ids)
    for echo in (True, False):
        forced = {"model": BUNDLED_MODEL_ID, "token_ids": [19556, eos, 19556], "echo": echo}
        events = run_events(numpy_registry, {"prompt": PROMPT, "max_new_tokens": 5, "forced": forced})
        done = events[-1]
        assert done.reason == "eos" and done.steps == 2
        assert len(steps_of(events)) == (2 if echo else 0)


def test_step_mode_holds_no_run_between_requests(serve: Any, tiny_registry: Any) -> None:
    """Each press is a whole request: when its stream ends, the server counts no run, and the next press
    needs nothing the last one left behind (a fresh server answers it the same)."""
    body = {"model": TINY_GPT2_ID, "prompt": "Once upon", "max_new_tokens": 1}
    first, second = serve(Settings(), tiny_registry), serve(Settings(), tiny_registry)
    ids: list[int] = []
    for _ in range(3):
        request = (
            {**body, "forced": {"model": TINY_GPT2_ID, "token_ids": ids, "echo": False}} if ids else body
        )
        answers = []
        for server in (first, second):
            response = httpx.post(f"{server.url}/api/run", json=request, timeout=30)
            events = [(m.event, m.data) for m in iter_sse(response.text)]
            answers.append([data for name, data in events if name == "step"])
            wait_idle(server.url, within=1.0)
        assert len(answers[0]) == 1
        assert answers[0][0].split('"elapsed_ms"')[0] == answers[1][0].split('"elapsed_ms"')[0]
        ids.append(httpx.Response(200, content=answers[0][0]).json()["token"]["id"])
