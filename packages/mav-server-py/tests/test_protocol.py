"""Protocol mav/1 on the Python side: real runs against the committed JSON Schema, the shared golden
fixtures, and the compact wire format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mav_server.protocol import event_name
from mav_server.sse import encode_event
from mav_server.wire import event_data, json_number, to_json

from .conftest import FIXTURES, run_events
from .sse_reader import decode_stream, iter_sse

EVENT_DEFS = {name: f"{name}_event" for name in ("meta", "status", "step", "error", "done")}


def client_view(text: str) -> list[dict[str, Any]]:
    """What `@mav/client` yields for a stream: valid events as `{type, ...data}`, invalid ones as
    `invalid_event` errors, and `incomplete_stream` when the stream ends before `done`."""
    out: list[dict[str, Any]] = []
    for decoded in decode_stream(text):
        if decoded.event is None:
            out.append({"type": "error", "code": "invalid_event"})
        else:
            out.append({"type": decoded.name, **decoded.event.model_dump(exclude_none=True)})
    if not out or out[-1]["type"] != "done":
        out.append({"type": "error", "code": "incomplete_stream"})
    return out


def fixture_names() -> list[str]:
    return sorted(path.name.removesuffix(".sse") for path in FIXTURES.glob("*.sse"))


def test_fixtures_exist() -> None:
    assert FIXTURES.is_dir(), f"shared fixtures missing: {FIXTURES}"
    assert "basic-run" in fixture_names()


@pytest.mark.parametrize("name", fixture_names())
def test_golden_fixture_parses_like_the_client(name: str, validate: Any) -> None:
    text = (FIXTURES / f"{name}.sse").read_bytes().decode("utf-8")
    expected = json.loads((FIXTURES / f"{name}.expected.json").read_text(encoding="utf-8"))
    got = client_view(text)
    assert [e["type"] for e in got] == [e["type"] for e in expected]
    for ours, theirs in zip(got, expected, strict=True):
        if theirs["type"] == "error" and theirs.get("code") in ("invalid_event", "incomplete_stream"):
            assert ours["code"] == theirs["code"]
            continue
        assert ours == theirs
        data = {k: v for k, v in theirs.items() if k != "type"}
        validate(EVENT_DEFS[theirs["type"]], data)


@pytest.mark.parametrize("name", ["basic-run", "multibyte"])
def test_fixture_events_reencode_to_the_same_values(name: str) -> None:
    for decoded in decode_stream((FIXTURES / f"{name}.sse").read_text(encoding="utf-8")):
        assert decoded.event is not None
        assert json.loads(event_data(decoded.event)) == decoded.raw
        assert event_name(decoded.event) == decoded.name


def check_run(events: list[Any], validate: Any) -> None:
    """Every event matches its schema definition, after a round trip through our SSE writer/reader."""
    wire = b"".join(encode_event(event) for event in events).decode("utf-8")
    messages = list(iter_sse(wire))
    assert [m.event for m in messages] == [event_name(e) for e in events]
    for message in messages:
        validate(EVENT_DEFS[message.event], json.loads(message.data))
        if message.event == "step":
            assert message.id == str(json.loads(message.data)["step"])
    assert messages[0].event == "meta"
    assert messages[-1].event == "done"


def test_tiny_run_events_validate(tiny_registry: Any, validate: Any) -> None:
    events = run_events(tiny_registry, {"prompt": "Hello world", "max_new_tokens": 5, "top_n": 7})
    check_run(events, validate)
    steps = [e for e in events if event_name(e) == "step"]
    assert len(steps) == 5
    assert all(len(s.top) == 7 and len(s.distribution.top_probs) == 100 for s in steps)
    assert all(len(s.activations) == 3 and len(s.attention_entropy) == 2 for s in steps)


def test_real_model_run_events_validate(smol_registry: Any, smol: Any, validate: Any) -> None:
    for body in (
        {"prompt": "What is the capital of France?", "max_new_tokens": 6},
        {
            "prompt": "Café ☕ and",
            "max_new_tokens": 4,
            "temperature": 0.9,
            "aggregation": "max_abs",
            "chat": False,
        },
    ):
        events = run_events(smol_registry, body)
        check_run(events, validate)
        meta = events[0]
        assert meta.model.n_layers == 30 and meta.model.n_heads == 9 and meta.model.vocab_size == 49152
        assert meta.request.model == "smollm2-135m-instruct"
        steps = [e for e in events if event_name(e) == "step"]
        assert steps and all(len(s.activations) == 31 and len(s.attention_entropy) == 30 for s in steps)


def test_step_size_budget(smol_registry: Any, smol: Any) -> None:
    """A 12-layer step with top_n 20 is measured by cutting a real 30-layer step to 12 layers (the
    bundled model is the only real one here); the figures are printed for the report."""
    events = run_events(
        smol_registry,
        {"prompt": "Once upon a time, in a small village,", "max_new_tokens": 24, "chat": False},
    )
    sizes = []
    for event in events:
        if event_name(event) == "step":
            cut = event.model_copy(
                update={
                    "activations": event.activations[:13],
                    "attention_entropy": event.attention_entropy[:12],
                }
            )
            sizes.append(len(encode_event(cut)))
    sizes.sort()
    median = sizes[len(sizes) // 2]
    print(f"12-layer step bytes: min {sizes[0]} median {median} max {sizes[-1]}")
    assert median < 2000, f"median {median}, max {sizes[-1]}"


def test_json_numbers_are_short_and_exact() -> None:
    for value, text in [(0.0, "0"), (1.0, "1"), (0.0004, "4e-4"), (0.0012, "0.0012"), (-3.21, "-3.21")]:
        assert json_number(value) == text
        assert float(text) == value
    assert to_json({"a": [1, 0.5, "é\n"], "b": None, "c": True}) == '{"a":[1,0.5,"é\\n"],"b":null,"c":true}'
    with pytest.raises(ValueError):
        json_number(float("nan"))


def test_to_json_writes_what_json_dumps_writes() -> None:
    """The fast type dispatch keeps json.dumps's text for everything but numbers' spelling."""
    value = {
        "text": 'é "quoted" \\ back\tslash \u2028 🚀 \x00',
        "list": [1, -2, True, False, None, (3, "x"), [], {}],
        "nested": {"k é": [{"id": 12345, "text": ""}]},
        "numbers": [0.5, np.float64(0.25), -3.25, 2.0],
        "one_kind": [[1, 2, -3], [0.5, 0.125], [True, 1], [1, 2.5], [[7, 8], [9]]],
    }
    assert to_json(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace(
        "2.0]", "2]"
    )


def test_sse_reader_handles_crlf_bom_and_comments() -> None:
    text = '\ufeff: ping\r\nevent: done\r\ndata: {"reason":"eos",\r\ndata: "steps":1,"elapsed_ms":2}\r\n\r\n'
    (message,) = list(iter_sse(text))
    assert message.event == "done"
    assert json.loads(message.data) == {"reason": "eos", "steps": 1, "elapsed_ms": 2}


def test_schema_file_is_in_the_repo() -> None:
    from .conftest import SCHEMA_PATH

    assert Path(SCHEMA_PATH).is_file()


EDGES: dict[str, list[Any]] = {
    "max_new_tokens": [0, 1, 2**53 - 1, 2**53, 2**64, 1.5],
    "temperature": [0, 5e-324, 1e-37, 0.0099, 0.01, 1, 100, 100.01, 1e308, -0.0, -1],
    "top_k": [-1, 0, 2**53 - 1, 2**53],
    "top_p": [0, 5e-324, 1, 1.01],
    "min_p": [-0.1, 0, 1, 1.5],
    "repetition_penalty": [0, 5e-324, 0.0099, 0.01, 1, 100, 100.5, 1e300],
    "seed": [-1, 0, 2**32 - 1, 2**32],
    "top_n": [0, 1, 100, 101],
    "forced": [
        {"model": "m", "token_ids": [0, 2**53 - 1]},
        {"model": "m", "token_ids": [1], "echo": False},
        {"model": "m", "token_ids": [1], "echo": 1},
        {"model": "m", "token_ids": []},
        {"model": "", "token_ids": [1]},
        {"token_ids": [1]},
        {"model": "m"},
        {"model": "m", "token_ids": [-1]},
        {"model": "m", "token_ids": [1.5]},
        {"model": "m", "token_ids": [2**53]},
        {"model": "m", "token_ids": "1"},
        [1, 2],
    ],
}


@pytest.mark.parametrize("field", sorted(EDGES))
def test_request_ranges_match_the_schema(field: str, schema: dict[str, Any]) -> None:
    """pydantic accepts exactly the values the protocol's JSON Schema (from zod) accepts."""
    from jsonschema import Draft202012Validator
    from pydantic import ValidationError

    from mav_server.protocol import RunRequest

    checker = Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/run_request"})
    for value in EDGES[field]:
        body = {"prompt": "hi", field: value}
        in_schema = checker.is_valid(body)
        try:
            RunRequest.model_validate(body)
            in_pydantic = True
        except ValidationError:
            in_pydantic = False
        assert in_pydantic == in_schema, (field, value, in_pydantic, in_schema)
