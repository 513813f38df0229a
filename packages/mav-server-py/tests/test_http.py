"""HTTP through a real uvicorn server on loopback: streaming GET and POST, bad input, 429 at the cap,
disconnects, errors during generation, auth and CORS."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from typing import Any

import httpx
import pytest

from mav_server.config import Settings

from .sse_reader import iter_sse
from .tiny import TINY_GPT2_ID

TIMEOUT = httpx.Timeout(30.0)


def settings(**overrides: Any) -> Settings:
    base = {"max_prompt_chars": 3000, "heartbeat_seconds": 15.0, "max_concurrent_runs": 2}
    return Settings(**{**base, **overrides})


def read_stream(response: httpx.Response) -> list[tuple[str, dict[str, Any], str | None]]:
    text = response.read().decode("utf-8")
    return [(m.event, json.loads(m.data), m.id) for m in iter_sse(text)]


def wait_idle(base: str, within: float = 1.0) -> float:
    """Seconds until `/health` reports no active run; fails after `within` seconds."""
    start = time.monotonic()
    while True:
        health = httpx.get(f"{base}/api/health", timeout=TIMEOUT).json()
        if health["active_runs"] == 0:
            return time.monotonic() - start
        if time.monotonic() - start > within:
            raise AssertionError(f"active_runs still {health['active_runs']} after {within}s")
        time.sleep(0.02)


@pytest.fixture
def server(serve: Any, tiny_registry: Any) -> Any:
    return serve(settings(), tiny_registry)


def test_post_streams_a_run(server: Any, validate: Any) -> None:
    body = {"model": TINY_GPT2_ID, "prompt": "Hello world", "max_new_tokens": 4}
    with httpx.stream("POST", f"{server.url}/api/run", json=body, timeout=TIMEOUT) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"].startswith("no-cache")
        events = read_stream(response)
    names = [name for name, _, _ in events]
    assert names[0] == "meta" and names[-1] == "done"
    assert names.count("step") == 4
    for name, data, event_id in events:
        validate(f"{name}_event", data)
        if name == "step":
            assert event_id == str(data["step"])
    assert events[0][1]["request"]["max_new_tokens"] == 4
    assert events[-1][1]["reason"] == "max_tokens"
    wait_idle(server.url)


def test_get_streams_a_run_like_eventsource(server: Any, validate: Any) -> None:
    params = json.dumps({"model": TINY_GPT2_ID, "prompt": "Once upon", "max_new_tokens": 3, "top_n": 3})
    url = f"{server.url}/api/run?params={urllib.parse.quote(params)}"
    with httpx.stream("GET", url, headers={"Accept": "text/event-stream"}, timeout=TIMEOUT) as response:
        assert response.status_code == 200
        events = read_stream(response)
    steps = [data for name, data, _ in events if name == "step"]
    assert len(steps) == 3 and all(len(step["top"]) == 3 for step in steps)
    assert events[-1][1] == {**events[-1][1], "reason": "max_tokens", "steps": 3}


def test_eventsource_reconnect_is_told_to_stop(server: Any) -> None:
    params = urllib.parse.quote(json.dumps({"model": TINY_GPT2_ID, "prompt": "Hi", "max_new_tokens": 2}))
    response = httpx.get(
        f"{server.url}/api/run?params={params}", headers={"Last-Event-ID": "1"}, timeout=TIMEOUT
    )
    assert response.status_code == 204


def test_models_and_health(server: Any, validate: Any) -> None:
    models = httpx.get(f"{server.url}/api/models", timeout=TIMEOUT).json()
    validate("models_response", models)
    by_id = {m["id"]: m for m in models["models"]}
    assert by_id[TINY_GPT2_ID]["default"] is True
    assert by_id[TINY_GPT2_ID]["architecture"] == "GPT2LMHeadModel"
    assert by_id[TINY_GPT2_ID]["n_layers"] == 2
    assert by_id[TINY_GPT2_ID]["detail"] == ["heads", "lens"]
    health = httpx.get(f"{server.url}/api/health", timeout=TIMEOUT).json()
    validate("health_response", health)
    assert health["status"] == "ok"


BAD_BODIES = [
    ({"model": "gpt-9", "prompt": "hi"}, 404, "unknown_model", "model"),
    ({"prompt": ""}, 400, "invalid_request", "prompt"),
    ({"prompt": "   "}, 400, "invalid_request", "prompt"),
    ({}, 400, "invalid_request", "prompt"),
    ({"prompt": "x" * 3001}, 400, "invalid_request", "prompt"),
    ({"prompt": "Hello world, hello there. " * 60}, 400, "invalid_request", "prompt"),  # > 256-token context
    ({"prompt": "hi", "max_new_tokens": 256}, 400, "invalid_request", "max_new_tokens"),  # context
    ({"prompt": "hi", "max_new_tokens": 0}, 400, "invalid_request", "max_new_tokens"),
    ({"prompt": "hi", "max_new_tokens": 5000}, 400, "invalid_request", "max_new_tokens"),
    ({"prompt": "hi", "max_new_tokens": "10"}, 400, "invalid_request", "max_new_tokens"),
    ({"prompt": "hi", "max_new_tokens": 10.5}, 400, "invalid_request", "max_new_tokens"),
    ({"prompt": "hi", "max_new_tokens": True}, 400, "invalid_request", "max_new_tokens"),
    ({"prompt": 5}, 400, "invalid_request", "prompt"),
    ({"prompt": "hi", "temperature": -1}, 400, "invalid_request", "temperature"),
    ({"prompt": "hi", "temperature": "hot"}, 400, "invalid_request", "temperature"),
    ({"prompt": "hi", "top_k": -1}, 400, "invalid_request", "top_k"),
    ({"prompt": "hi", "top_p": 0}, 400, "invalid_request", "top_p"),
    ({"prompt": "hi", "top_p": 1.5}, 400, "invalid_request", "top_p"),
    ({"prompt": "hi", "min_p": 2}, 400, "invalid_request", "min_p"),
    ({"prompt": "hi", "repetition_penalty": 0}, 400, "invalid_request", "repetition_penalty"),
    ({"prompt": "hi", "seed": -1}, 400, "invalid_request", "seed"),
    ({"prompt": "hi", "seed": 2**32}, 400, "invalid_request", "seed"),
    ({"prompt": "hi", "top_n": 0}, 400, "invalid_request", "top_n"),
    ({"prompt": "hi", "top_n": 101}, 400, "invalid_request", "top_n"),
    ({"prompt": "hi", "aggregation": "mean"}, 400, "invalid_request", "aggregation"),
    ({"prompt": "hi", "chat": "yes"}, 400, "invalid_request", "chat"),
    ({"prompt": "hi", "chat": True}, 400, "invalid_request", "chat"),  # tiny GPT-2 has no chat template
    ({"prompt": "hi", "detail": ["attention"]}, 400, "invalid_request", "detail"),
    ({"prompt": "hi", "detail": "lens"}, 400, "invalid_request", "detail"),
    ({"prompt": "hi", "detail": ["lens", "heads", "lens"]}, 400, "invalid_request", "detail"),
    ([1, 2], 400, "invalid_request", None),
    # Branch and step mode: a forced prefix from another model, out of the vocabulary or too long.
    *[
        ({"prompt": "hi", "forced": forced}, 400, "invalid_request", field)
        for forced, field in [
            ({"model": "smollm2-135m-instruct", "token_ids": [1]}, "forced.model"),
            ({"model": TINY_GPT2_ID, "token_ids": [1, 400]}, "forced.token_ids"),
            ({"model": TINY_GPT2_ID, "token_ids": [-1]}, "forced.token_ids"),
            ({"model": TINY_GPT2_ID, "token_ids": []}, "forced.token_ids"),
            ({"token_ids": [1]}, "forced.model"),
            ({"model": TINY_GPT2_ID, "token_ids": [1] * 1024}, "forced.token_ids"),  # MAV_MAX_NEW_TOKENS
            ({"model": TINY_GPT2_ID, "token_ids": [1] * 256}, "forced.token_ids"),  # the 256-token context
        ]
    ],
    (
        {"prompt": "hi", "max_new_tokens": 10, "forced": {"model": TINY_GPT2_ID, "token_ids": [1] * 250}},
        400,
        "invalid_request",
        "max_new_tokens",
    ),
    (
        {"prompt": "hi", "max_new_tokens": 1000, "forced": {"model": TINY_GPT2_ID, "token_ids": [1] * 30}},
        400,
        "invalid_request",
        "max_new_tokens",
    ),
]


@pytest.mark.parametrize(("body", "status", "code", "field"), BAD_BODIES)
def test_bad_input_is_refused_before_streaming(
    server: Any, validate: Any, body: Any, status: int, code: str, field: str | None
) -> None:
    response = httpx.post(f"{server.url}/api/run", json=body, timeout=TIMEOUT)
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()
    validate("error_body", error)
    assert error["error"]["code"] == code
    assert error["error"].get("field") == field
    if field is not None:
        assert field in error["error"]["message"]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"{not json", "invalid_json"),
        (b'{"prompt": "hi", "temperature": NaN}', "invalid_json"),
        (b"", "invalid_json"),
    ],
)
def test_malformed_json_body(server: Any, validate: Any, raw: bytes, code: str) -> None:
    response = httpx.post(
        f"{server.url}/api/run", content=raw, headers={"Content-Type": "application/json"}, timeout=TIMEOUT
    )
    assert response.status_code == 400
    validate("error_body", response.json())
    assert response.json()["error"]["code"] == code


def test_get_params_must_be_json(server: Any, validate: Any) -> None:
    response = httpx.get(f"{server.url}/api/run?params=%7Bnope", timeout=TIMEOUT)
    assert response.status_code == 400
    validate("error_body", response.json())
    assert response.json()["error"] == {**response.json()["error"], "code": "invalid_json", "field": "params"}
    missing = httpx.get(f"{server.url}/api/run", timeout=TIMEOUT)
    assert missing.status_code == 400 and missing.json()["error"]["field"] == "params"
    bad_value = httpx.get(
        f"{server.url}/api/run?params={urllib.parse.quote(json.dumps({'prompt': 'hi', 'top_n': 500}))}",
        timeout=TIMEOUT,
    )
    assert bad_value.status_code == 400 and bad_value.json()["error"]["field"] == "top_n"


def test_unknown_route_and_method_answer_json(server: Any, validate: Any) -> None:
    missing = httpx.get(f"{server.url}/api/nope", timeout=TIMEOUT)
    assert missing.status_code == 404
    validate("error_body", missing.json())
    wrong_method = httpx.put(f"{server.url}/api/run", json={"prompt": "hi"}, timeout=TIMEOUT)
    assert wrong_method.status_code == 405
    validate("error_body", wrong_method.json())


def test_disconnect_stops_generation(server: Any, slow_hook: Any, tiny_registry: Any) -> None:
    tiny_registry.get("tiny-slow")  # loaded before counting (loading times a few passes)
    body = {"model": "tiny-slow", "prompt": "Hello", "max_new_tokens": 200}
    calls_before = slow_hook.calls
    steps_read = 0
    with httpx.stream("POST", f"{server.url}/api/run", json=body, timeout=TIMEOUT) as response:
        for line in response.iter_lines():
            if line.startswith("event: step"):
                steps_read += 1
                if steps_read == 3:
                    break
    # The connection is closed here; the server must notice and stop within about one step.
    waited = wait_idle(server.url, within=1.0)
    forward_passes = slow_hook.calls - calls_before
    time.sleep(0.2)
    assert slow_hook.calls - calls_before == forward_passes, "generation went on after the reader left"
    # 1 prefill + the steps read + at most a few in flight while the disconnect propagated (30 ms each).
    assert forward_passes <= 1 + steps_read + 5, (forward_passes, waited)


def test_concurrency_cap_answers_429(serve: Any, tiny_registry: Any, validate: Any) -> None:
    server = serve(settings(max_concurrent_runs=1), tiny_registry)
    body = {"model": "tiny-slow", "prompt": "Hello", "max_new_tokens": 200}
    with httpx.stream("POST", f"{server.url}/api/run", json=body, timeout=TIMEOUT) as first:
        assert first.status_code == 200
        lines = first.iter_lines()
        next(lines)
        start = time.monotonic()
        assert httpx.get(f"{server.url}/api/health", timeout=TIMEOUT).json()["active_runs"] == 1
        second = httpx.post(f"{server.url}/api/run", json=body, timeout=TIMEOUT)
        took = time.monotonic() - start
        assert second.status_code == 429, (took, second.text[-300:])
        assert int(second.headers["retry-after"]) >= 1
        validate("error_body", second.json())
        assert second.json()["error"]["code"] == "too_many_runs"
    wait_idle(server.url)
    again = httpx.post(f"{server.url}/api/run", json={**body, "max_new_tokens": 2}, timeout=TIMEOUT)
    assert again.status_code == 200


def test_a_run_waits_for_a_slot_up_to_slot_wait_seconds(serve: Any, tiny_registry: Any) -> None:
    server = serve(settings(max_concurrent_runs=1, slot_wait_seconds=0.5), tiny_registry)
    body = {"model": "tiny-slow", "prompt": "Hello", "max_new_tokens": 200}
    short = {**body, "max_new_tokens": 2}
    with httpx.stream("POST", f"{server.url}/api/run", json=body, timeout=TIMEOUT) as first:
        lines = first.iter_lines()  # held: a dropped iterator closes the stream
        next(lines)
        start = time.monotonic()
        refused = httpx.post(f"{server.url}/api/run", json=short, timeout=TIMEOUT)
        took = time.monotonic() - start
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "too_many_runs"
        assert 0.5 <= took < 5, took
    wait_idle(server.url)

    # A run that arrives while the slot is taken, and then freed within the wait, is served.
    server = serve(settings(max_concurrent_runs=1, slot_wait_seconds=10), tiny_registry)
    answer: dict[str, Any] = {}

    def second() -> None:
        response = httpx.post(f"{server.url}/api/run", json=short, timeout=TIMEOUT)
        answer.update(status=response.status_code, text=response.text, at=time.monotonic())

    with httpx.stream("POST", f"{server.url}/api/run", json=body, timeout=TIMEOUT) as first:
        lines = first.iter_lines()  # held: a dropped iterator closes the stream
        next(lines)
        waiter = threading.Thread(target=second)
        waiter.start()
        time.sleep(0.3)
        assert not answer, "the second run did not wait for the slot"
        left = time.monotonic()
    waiter.join(timeout=30)
    assert answer["status"] == 200 and "event: done" in answer["text"], answer
    assert answer["at"] >= left


def test_error_during_generation_then_still_healthy(server: Any, validate: Any) -> None:
    body = {"model": "tiny-broken", "prompt": "Hello", "max_new_tokens": 10}
    with httpx.stream("POST", f"{server.url}/api/run", json=body, timeout=TIMEOUT) as response:
        events = read_stream(response)
    names = [name for name, _, _ in events]
    assert names[-2:] == ["error", "done"]
    error, done = events[-2][1], events[-1][1]
    validate("error_event", error)
    assert error["code"] == "generation_failed" and error["retryable"] is False
    assert done["reason"] == "error"
    wait_idle(server.url)
    ok = httpx.post(
        f"{server.url}/api/run", json={"model": TINY_GPT2_ID, "prompt": "Hi", "max_new_tokens": 2}
    )
    assert ok.status_code == 200 and "event: done" in ok.text


def test_active_runs_is_zero_after_runs_end(server: Any) -> None:
    def one_run() -> None:
        httpx.post(
            f"{server.url}/api/run",
            json={"model": TINY_GPT2_ID, "prompt": "Hi", "max_new_tokens": 3},
            timeout=TIMEOUT,
        ).read()

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait_idle(server.url, within=1.0)


def test_heartbeats_are_comment_lines(serve: Any, tiny_registry: Any) -> None:
    server = serve(settings(heartbeat_seconds=0.01), tiny_registry)
    body = {"model": "tiny-slow", "prompt": "Hello", "max_new_tokens": 3}
    text = httpx.post(f"{server.url}/api/run", json=body, timeout=TIMEOUT).text
    assert ": ping\n\n" in text
    assert [m.event for m in iter_sse(text)][-1] == "done"


def test_auth_when_token_is_set(serve: Any, tiny_registry: Any, validate: Any) -> None:
    server = serve(settings(api_token="s3cret"), tiny_registry)
    body = {"model": TINY_GPT2_ID, "prompt": "Hi", "max_new_tokens": 2}
    for method, path in (("GET", "/api/models"), ("POST", "/api/run")):
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret"}):
            response = httpx.request(method, server.url + path, json=body, headers=headers, timeout=TIMEOUT)
            assert response.status_code == 401, (method, path, headers)
            assert response.headers["www-authenticate"].startswith("Bearer")
            validate("error_body", response.json())
            assert response.json()["error"]["code"] == "unauthorized"
    good = {"Authorization": "Bearer s3cret"}
    assert httpx.get(f"{server.url}/api/models", headers=good, timeout=TIMEOUT).status_code == 200
    run = httpx.post(f"{server.url}/api/run", json=body, headers=good, timeout=TIMEOUT)
    assert run.status_code == 200 and "event: done" in run.text
    assert httpx.get(f"{server.url}/api/health", timeout=TIMEOUT).status_code == 200  # health stays open


def test_auth_off_by_default(server: Any) -> None:
    assert httpx.get(f"{server.url}/api/models", timeout=TIMEOUT).status_code == 200


def test_cors(serve: Any, tiny_registry: Any) -> None:
    origin = "http://localhost:3000"
    preflight_headers = {"Origin": origin, "Access-Control-Request-Method": "POST"}
    closed = serve(settings(), tiny_registry)
    response = httpx.options(f"{closed.url}/api/run", headers=preflight_headers, timeout=TIMEOUT)
    assert "access-control-allow-origin" not in response.headers
    opened = serve(settings(cors_origins=(origin,)), tiny_registry)
    response = httpx.options(
        f"{opened.url}/api/run",
        headers={**preflight_headers, "Access-Control-Request-Headers": "content-type,authorization"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == origin
    run = httpx.post(
        f"{opened.url}/api/run",
        json={"model": TINY_GPT2_ID, "prompt": "Hi", "max_new_tokens": 1},
        headers={"Origin": origin},
        timeout=TIMEOUT,
    )
    assert run.headers["access-control-allow-origin"] == origin
