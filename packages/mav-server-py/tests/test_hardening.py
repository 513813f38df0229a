"""Hostile and extreme input through a real uvicorn server: body limits, content types, cross-site
requests, DNS rebinding, safe error messages, numbers at the edges of the ranges, and the headers every
answer carries."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mav_server.config import LOOPBACK_HOSTS, Settings
from mav_server.engines import ModelSource
from mav_server.models import ModelRegistry
from mav_server.protocol import MAX_SAFE_INTEGER

from .sse_reader import iter_sse
from .tiny import TINY_GPT2_ID, build_tiny_gpt2, tiny_gpt2_source

TIMEOUT = httpx.Timeout(30.0)
RUN = {"model": TINY_GPT2_ID, "prompt": "Hello", "max_new_tokens": 2}


def settings(**overrides: Any) -> Settings:
    return Settings(**{"max_concurrent_runs": 2, "max_body_bytes": 4096, **overrides})


@pytest.fixture
def server(serve: Any, tiny_registry: Any) -> Any:
    return serve(settings(), tiny_registry)


def post(
    url: str, content: bytes | str, content_type: str | None = "application/json", **headers: str
) -> Any:
    if content_type is not None:
        headers["content-type"] = content_type
    return httpx.post(url, content=content, headers=headers, timeout=TIMEOUT)


def events(text: str) -> list[tuple[str, dict[str, Any]]]:
    return [(m.event, json.loads(m.data)) for m in iter_sse(text)]


def assert_error(response: Any, status: int, code: str, validate: Any) -> dict[str, Any]:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()  # always valid JSON, whatever the request held
    validate("error_body", body)
    assert body["error"]["code"] == code, body
    return body["error"]


# --- bodies and content types ---------------------------------------------------------------------


def test_a_declared_large_body_is_refused_unread(server: Any, validate: Any) -> None:
    response = post(f"{server.url}/api/run", b"x" * 5000)
    assert_error(response, 413, "body_too_large", validate)


def test_a_large_body_without_length_is_refused_while_reading(server: Any, validate: Any) -> None:
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(1000):  # 1 MB in total, if the server read it all
            sent += 1024
            yield b" " * 1024

    try:
        response = httpx.post(
            f"{server.url}/api/run",
            content=chunks(),
            headers={"content-type": "application/json"},
            timeout=TIMEOUT,
        )
    except httpx.HTTPError:
        # The server answered and closed while the client was still sending: it did not read it all.
        assert sent < 1000 * 1024
        return
    assert_error(response, 413, "body_too_large", validate)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_post_needs_a_json_content_type(server: Any, validate: Any, content_type: str | None) -> None:
    # What a cross-site <form> or `fetch(..., {mode: 'no-cors'})` can send without a preflight.
    response = post(f"{server.url}/api/run", json.dumps(RUN), content_type)
    assert_error(response, 415, "unsupported_media_type", validate)
    assert httpx.get(f"{server.url}/api/health", timeout=TIMEOUT).json()["active_runs"] == 0


def test_json_with_charset_is_json(server: Any) -> None:
    response = post(f"{server.url}/api/run", json.dumps(RUN), "application/json; charset=utf-8")
    assert response.status_code == 200 and "event: done" in response.text


# --- pages of other sites and DNS rebinding -------------------------------------------------------


def run_url(server: Any) -> str:
    return f"{server.url}/api/run?params={urllib.parse.quote(json.dumps(RUN))}"


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},  # an <img> or EventSource on another site
        {"Sec-Fetch-Site": "same-site", "Origin": "http://localhost:9999"},
        {"Origin": "http://evil.example"},  # a browser too old to send Sec-Fetch-Site
    ],
)
def test_get_run_from_another_site_is_refused(server: Any, validate: Any, headers: dict[str, str]) -> None:
    response = httpx.get(run_url(server), headers=headers, timeout=TIMEOUT)
    assert_error(response, 403, "cross_site_request", validate)
    post_response = post(f"{server.url}/api/run", json.dumps(RUN), **headers)
    assert_error(post_response, 403, "cross_site_request", validate)


@pytest.mark.parametrize(
    "headers",
    [
        {},  # a script or a server
        {"Sec-Fetch-Site": "same-origin"},  # our own page (or its proxy)
        {"Sec-Fetch-Site": "none"},  # typed into the address bar
    ],
)
def test_get_run_from_this_site_streams(server: Any, headers: dict[str, str]) -> None:
    response = httpx.get(run_url(server), headers=headers, timeout=TIMEOUT)
    assert response.status_code == 200 and "event: done" in response.text


def test_an_allowed_origin_may_start_runs_cross_site(serve: Any, tiny_registry: Any) -> None:
    origin = "http://localhost:3000"
    server = serve(settings(cors_origins=(origin,)), tiny_registry)
    headers = {"Sec-Fetch-Site": "cross-site", "Origin": origin}
    response = httpx.get(run_url(server), headers=headers, timeout=TIMEOUT)
    assert response.status_code == 200 and "event: done" in response.text
    assert response.headers["access-control-allow-origin"] == origin


def test_hosts_outside_the_allow_list_are_refused(serve: Any, tiny_registry: Any, validate: Any) -> None:
    server = serve(settings(allowed_hosts=LOOPBACK_HOSTS), tiny_registry)
    for host in ("evil.example", "evil.example:8000", "127.0.0.1.nip.io"):
        response = httpx.get(f"{server.url}/api/health", headers={"Host": host}, timeout=TIMEOUT)
        assert_error(response, 403, "host_not_allowed", validate)
        assert response.headers["x-content-type-options"] == "nosniff"
    for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}", f"[::1]:{server.port}", "LOCALHOST"):
        response = httpx.get(f"{server.url}/api/health", headers={"Host": host}, timeout=TIMEOUT)
        assert response.status_code == 200, host


# --- bad input that used to reach a 500 -----------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code", "field"),
    [
        (b"[" * 2000 + b"]" * 2000, "invalid_json", None),
        (b'{"prompt": "hi", "model": ' + b"[" * 1500 + b"]" * 1500 + b"}", "invalid_json", None),
        (b'{"prompt": "hi", "model": ' + b"[" * 500 + b"]" * 500 + b"}", "invalid_request", "model"),
        (b'{"prompt": "hi", "x": ' + b'{"a":' * 300 + b"1" + b"}" * 300 + b"}", None, None),
        (b'{"prompt": "\\ud800"}', "invalid_request", "prompt"),
        (b'{"prompt": "hi", "model": "\\udfff\\u00e9"}', "invalid_request", "model"),
        (b'{"prompt": "\xff\xfe"}', "invalid_json", None),
        (b'{"prompt": "hi", "max_new_tokens": 9007199254740992}', "invalid_request", "max_new_tokens"),
        (b'{"prompt": "hi", "top_k": 1e400}', "invalid_request", "top_k"),
        (b'{"prompt": "hi", "temperature": 1e-37}', "invalid_request", "temperature"),
        (b'{"prompt": "hi", "temperature": 101}', "invalid_request", "temperature"),
        (b'{"prompt": "hi", "repetition_penalty": 5e-324}', "invalid_request", "repetition_penalty"),
        (b'{"prompt": "hi", "repetition_penalty": 1e300}', "invalid_request", "repetition_penalty"),
    ],
)
def test_hostile_bodies_get_a_4xx(
    server: Any, validate: Any, raw: bytes, code: str | None, field: str | None
) -> None:
    response = post(f"{server.url}/api/run", raw)
    if code is None:  # nesting in a field the server ignores is no problem
        assert response.status_code == 200 and "event: done" in response.text
        return
    error = assert_error(response, 400, code, validate)
    assert error.get("field") == field
    assert "\\ud" not in response.text or "\\\\ud" in response.text, "a lone surrogate was sent back raw"


@pytest.mark.parametrize("token", ["Bearer caf\u00e9", "Bearer \u00ff\u00fe", "B\u00e9arer x"])
def test_non_ascii_bearer_tokens_are_merely_wrong(
    serve: Any, tiny_registry: Any, validate: Any, token: str
) -> None:
    server = serve(settings(api_token="s3cret"), tiny_registry)
    response = httpx.get(
        f"{server.url}/api/models", headers={"Authorization": token.encode("latin-1")}, timeout=TIMEOUT
    )
    assert_error(response, 401, "unauthorized", validate)


def test_wrong_method_names_the_allowed_ones(server: Any, validate: Any) -> None:
    response = httpx.delete(f"{server.url}/api/run", timeout=TIMEOUT)
    assert_error(response, 405, "method_not_allowed", validate)
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}


# --- messages that would leak internals -----------------------------------------------------------


def build_unloadable() -> tuple[Any, Any]:
    """A tiny GPT-2 that describes itself but fails when its weights are loaded."""
    model, tokenizer = build_tiny_gpt2()

    def fail(*_: Any, **__: Any) -> Any:
        raise RuntimeError("/srv/secret/weights.bin: checksum mismatch")

    model.to = fail
    return model, tokenizer


def test_a_model_that_fails_to_load_says_so_without_internals(serve: Any, validate: Any) -> None:
    registry = ModelRegistry(
        [tiny_gpt2_source(), ModelSource("tiny-unloadable", "Unloadable", build=build_unloadable)],
        device="cpu",
    )
    server = serve(settings(), registry)
    body = {"model": "tiny-unloadable", "prompt": "Hello", "max_new_tokens": 2}
    text = httpx.post(f"{server.url}/api/run", json=body, timeout=TIMEOUT).text
    names = [name for name, _ in events(text)]
    assert names[-2:] == ["error", "done"]
    error = events(text)[-2][1]
    validate("error_event", error)
    assert error["code"] == "model_unavailable" and "tiny-unloadable" in error["message"]
    assert "/srv" not in text and "checksum" not in text


def test_generation_failures_do_not_echo_the_exception(server: Any) -> None:
    body = {"model": "tiny-broken", "prompt": "Hello", "max_new_tokens": 10}
    text = httpx.post(f"{server.url}/api/run", json=body, timeout=TIMEOUT).text
    error = next(data for name, data in events(text) if name == "error")
    assert error["code"] == "generation_failed" and "simulated" not in error["message"]


# --- numbers at the edges -------------------------------------------------------------------------


EXTREMES = [
    {"temperature": 0.01, "top_k": 0},
    {"temperature": 100, "top_k": MAX_SAFE_INTEGER, "top_p": 5e-324},
    {"temperature": 1, "repetition_penalty": 0.01, "min_p": 1},
    {"temperature": 0.01, "repetition_penalty": 100, "seed": 2**32 - 1},
    {"temperature": 0, "repetition_penalty": 0.01},
]


@pytest.mark.parametrize("extreme", EXTREMES)
def test_extreme_valid_sampling_values_run_to_the_end(
    server: Any, validate: Any, extreme: dict[str, Any]
) -> None:
    body = {**RUN, "max_new_tokens": 4, **extreme}
    text = httpx.post(f"{server.url}/api/run", json=body, timeout=TIMEOUT).text
    got = events(text)
    for name, data in got:
        validate(f"{name}_event", data)
    assert got[-1][1]["reason"] == "max_tokens", got[-2:]
    assert got[0][1]["request"] == {**got[0][1]["request"], **extreme}


def test_a_server_cap_below_the_default_caps_requests_that_did_not_ask(
    serve: Any, tiny_registry: Any, validate: Any
) -> None:
    server = serve(settings(max_new_tokens=3), tiny_registry)
    text = httpx.post(f"{server.url}/api/run", json={"prompt": "Hello"}, timeout=TIMEOUT).text
    got = events(text)
    assert got[0][1]["request"]["max_new_tokens"] == 3
    assert [name for name, _ in got].count("step") == 3
    asked = httpx.post(
        f"{server.url}/api/run", json={"prompt": "Hello", "max_new_tokens": 4}, timeout=TIMEOUT
    )
    assert_error(asked, 400, "invalid_request", validate)


def test_the_default_shrinks_to_fit_the_context(server: Any) -> None:
    prompt = "Hello world, hello there. " * 26  # 234 of tiny GPT-2's 256 positions
    text = httpx.post(f"{server.url}/api/run", json={"prompt": prompt}, timeout=TIMEOUT).text
    got = events(text)
    meta = got[0][1]
    room = 256 - len(meta["prompt_tokens"])
    assert 0 < room < 50
    assert meta["request"]["max_new_tokens"] == room
    assert got[-1][1]["reason"] in ("max_tokens", "eos")


# --- headers --------------------------------------------------------------------------------------


def test_every_answer_carries_the_security_headers(server: Any) -> None:
    answers = [
        httpx.get(f"{server.url}/api/health", timeout=TIMEOUT),
        httpx.get(f"{server.url}/api/nope", timeout=TIMEOUT),
        httpx.post(f"{server.url}/api/run", json=RUN, timeout=TIMEOUT),
        httpx.get(f"{server.url}/api/openapi.json", timeout=TIMEOUT),
    ]
    for response in answers:
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["cross-origin-resource-policy"] == "same-origin"
