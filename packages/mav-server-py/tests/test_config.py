"""Settings, the model registry's allow-list and cache, the CLI and the Vercel entry."""

from __future__ import annotations

import os
import runpy
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from mav_server.config import BUNDLED_MODEL_ID, ConfigError, settings_from_env
from mav_server.engines import ModelSource
from mav_server.models import ModelRegistry, source_for

from .tiny import tiny_gpt2_source

PACKAGE = Path(__file__).resolve().parents[1]


def test_settings_defaults() -> None:
    settings = settings_from_env({})
    assert settings.models == (BUNDLED_MODEL_ID,)
    assert settings.default_model_id == BUNDLED_MODEL_ID
    assert settings.api_token is None and settings.cors_origins == ()
    assert settings.max_new_tokens == 1024 and settings.max_prompt_chars == 4000
    assert settings.base_path == "/api"


def test_settings_from_env() -> None:
    settings = settings_from_env(
        {
            "MAV_MODELS": "a, b",
            "MAV_DEFAULT_MODEL": "b",
            "MAV_MAX_CONCURRENT_RUNS": "3",
            "MAV_API_TOKEN": "t",
            "MAV_CORS_ORIGINS": "http://x.test, http://y.test",
            "MAV_PRELOAD": "1",
            "MAV_HEARTBEAT_SECONDS": "2.5",
            "MAV_SLOT_WAIT_SECONDS": "4",
        }
    )
    assert settings.models == ("a", "b") and settings.default_model_id == "b"
    assert settings.max_concurrent_runs == 3 and settings.api_token == "t"
    assert settings.cors_origins == ("http://x.test", "http://y.test")
    assert settings.preload and settings.heartbeat_seconds == 2.5 and settings.slot_wait_seconds == 4


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"MAV_MAX_CONCURRENT_RUNS": "many"}, "MAV_MAX_CONCURRENT_RUNS must be an integer"),
        ({"MAV_MODELS": "a", "MAV_DEFAULT_MODEL": "b"}, "not in the allow-list"),
        ({"MAV_DEVICE": "tpu"}, "device must be one of"),
        ({"MAV_MAX_NEW_TOKENS": "0"}, "max_new_tokens must be at least 1"),
        ({"MAV_SLOT_WAIT_SECONDS": "-1"}, "slot_wait_seconds must be 0 or more"),
    ],
)
def test_bad_settings_say_what_is_expected(env: dict[str, str], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        settings_from_env(env)


def test_sources_for_ids() -> None:
    assert source_for(BUNDLED_MODEL_ID).gguf_path().suffix == ".gguf"
    assert str(source_for("/models/other.Q8_0.gguf").gguf_path()) == "/models/other.Q8_0.gguf"
    assert source_for("openai-community/gpt2").pretrained == "openai-community/gpt2"


def test_registry_is_an_allow_list_with_a_bounded_cache() -> None:
    registry = ModelRegistry(
        [tiny_gpt2_source("tiny-a"), tiny_gpt2_source("tiny-b")], device="cpu", max_loaded=1
    )
    assert "tiny-a" in registry and "gpt2" not in registry
    first = registry.get("tiny-a")
    assert registry.get("tiny-a") is first  # reused
    registry.get("tiny-b")
    assert registry.loaded_ids() == ["tiny-b"]  # tiny-a was dropped: the cache holds one
    infos = {info.id: info for info in registry.infos()}
    assert infos["tiny-a"].default and not infos["tiny-a"].loaded and infos["tiny-b"].loaded


def test_missing_model_is_left_out_of_models() -> None:
    missing = ModelSource("/nonexistent/model", "missing", pretrained="/nonexistent/model")
    registry = ModelRegistry([missing, tiny_gpt2_source()], device="cpu")
    assert [info.id for info in registry.infos()] == ["tiny-gpt2"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_cli_serves_health(tmp_path: Path) -> None:
    executable = Path(sys.executable).with_name("mav-server")
    command = [str(executable)] if executable.exists() else [sys.executable, "-m", "mav_server.cli"]
    port = free_port()
    env = {**os.environ, "MAV_MODELS": str(tmp_path / "no-such-model"), "MAV_MAX_CONCURRENT_RUNS": "1"}
    process = subprocess.Popen(
        [*command, "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError("mav-server did not start") from None
                time.sleep(0.2)
        assert health.json() == {"status": "ok", "active_runs": 0, "loaded_models": []}
        run = httpx.post(f"http://127.0.0.1:{port}/api/run", json={"prompt": "hi"}, timeout=30)
        assert run.status_code == 503 and run.json()["error"]["code"] == "model_unavailable"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_cli_rejects_bad_settings() -> None:
    from mav_server.cli import main

    os.environ["MAV_MAX_NEW_TOKENS"] = "zero"
    try:
        assert main(["--port", "1"]) == 2
    finally:
        del os.environ["MAV_MAX_NEW_TOKENS"]


def test_asgi_entry_exposes_an_app(monkeypatch: Any) -> None:
    monkeypatch.setenv("MAV_MODELS", "/nonexistent/model")
    namespace = runpy.run_module("mav_server.asgi")
    app = namespace["app"]
    assert callable(app)
    assert any(getattr(route, "path", "") == "/api/run" for route in app.routes)


def test_the_examples_vercel_function_is_the_asgi_app(monkeypatch: Any) -> None:
    monkeypatch.setenv("MAV_MODELS", "/nonexistent/model")
    from mav_server import asgi

    entry = PACKAGE.parents[1] / "examples" / "next-app" / "api" / "index.py"
    assert runpy.run_path(str(entry))["app"] is asgi.app
