"""Shared fixtures: the real bundled model (loaded once per session), tiny GPT-2 variants, and a real
uvicorn server on loopback for the HTTP tests."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import uvicorn
from jsonschema import Draft202012Validator

from mav_server.app import create_app
from mav_server.config import BUNDLED_MODEL_ID, Settings
from mav_server.engines import ModelSource
from mav_server.engines.numpy.engine import NumpyModel
from mav_server.engines.torch import TorchModel
from mav_server.models import ModelRegistry, source_for
from mav_server.protocol import Event
from mav_server.runs import execute_run, parse_request, plan_run

from .tiny import build_tiny_gpt2, tiny_gpt2_source

REPO = Path(__file__).resolve().parents[3]
SCHEMA_PATH = REPO / "packages" / "mav-client" / "schema" / "mav-protocol.schema.json"
FIXTURES = REPO / "fixtures" / "protocol"


# --- the protocol's JSON Schema -------------------------------------------------------------------


@pytest.fixture(scope="session")
def schema() -> dict[str, Any]:
    if not SCHEMA_PATH.is_file():
        pytest.fail(f"the committed JSON Schema is missing: {SCHEMA_PATH}")
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def validate(schema: dict[str, Any]) -> Callable[[str, Any], None]:
    """`validate(definition, value)`: raise unless `value` matches `$defs/<definition>`."""
    validators: dict[str, Draft202012Validator] = {}

    def check(definition: str, value: Any) -> None:
        if definition not in validators:
            assert definition in schema["$defs"], f"no $defs/{definition} in {SCHEMA_PATH}"
            wrapper = {"$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"}
            validators[definition] = Draft202012Validator(wrapper)
        errors = sorted(validators[definition].iter_errors(value), key=lambda e: list(e.path))
        assert not errors, f"{definition} does not match the schema: {[e.message for e in errors[:5]]}"

    return check


# --- models ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def smol_registry() -> ModelRegistry:
    return ModelRegistry([source_for(BUNDLED_MODEL_ID)], engine="torch", device="cpu", dtype="float32")


@pytest.fixture(scope="session")
def smol_loading(smol_registry: ModelRegistry) -> tuple[TorchModel, list[float]]:
    """The bundled SmolLM2-135M-Instruct on the torch engine, loaded once for the whole session, and the
    loading progress it reported."""
    fractions: list[float] = []
    loaded = smol_registry.get(BUNDLED_MODEL_ID, progress=fractions.append)
    assert isinstance(loaded, TorchModel)
    return loaded, fractions


@pytest.fixture(scope="session")
def smol(smol_loading: tuple[TorchModel, list[float]]) -> TorchModel:
    return smol_loading[0]


@pytest.fixture(scope="session")
def numpy_registry() -> ModelRegistry:
    return ModelRegistry([source_for(BUNDLED_MODEL_ID)], engine="numpy")


@pytest.fixture(scope="session")
def numpy_smol_loading(numpy_registry: ModelRegistry) -> tuple[NumpyModel, list[float]]:
    """The bundled model on the numpy engine, loaded once for the whole session, and the loading
    progress it reported."""
    fractions: list[float] = []
    loaded = numpy_registry.get(BUNDLED_MODEL_ID, progress=fractions.append)
    assert isinstance(loaded, NumpyModel)
    return loaded, fractions


@pytest.fixture(scope="session")
def numpy_smol(numpy_smol_loading: tuple[NumpyModel, list[float]]) -> NumpyModel:
    return numpy_smol_loading[0]


class SlowModelHook:
    """Counts forward passes and sleeps in each, so HTTP timing tests do not depend on CPU speed."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.calls = 0

    def __call__(self, module: Any, args: Any, output: Any) -> None:
        self.calls += 1
        time.sleep(self.delay)


class ExplodingHook:
    """Makes the n-th forward pass fail, to test errors during generation."""

    def __init__(self, fail_at: int) -> None:
        self.fail_at = fail_at
        self.calls = 0

    def __call__(self, module: Any, args: Any, output: Any) -> None:
        self.calls += 1
        if self.calls % self.fail_at == 0:
            raise RuntimeError("simulated failure inside the model")


def hooked_tiny(model_id: str, hook: Any) -> ModelSource:
    def build() -> tuple[Any, Any]:
        model, tokenizer = build_tiny_gpt2()
        model.register_forward_hook(hook)
        return model, tokenizer

    return ModelSource(model_id, f"Tiny GPT-2 ({model_id})", build=build)


@pytest.fixture(scope="session")
def slow_hook() -> SlowModelHook:
    return SlowModelHook(delay=0.03)


@pytest.fixture(scope="session")
def tiny_registry(slow_hook: SlowModelHook) -> ModelRegistry:
    """tiny-gpt2 (default), tiny-slow (30 ms per forward pass) and tiny-broken (every 3rd pass fails)."""
    return ModelRegistry(
        [
            tiny_gpt2_source(),
            hooked_tiny("tiny-slow", slow_hook),
            hooked_tiny("tiny-broken", ExplodingHook(fail_at=3)),
        ],
        device="cpu",
        max_loaded=3,
    )


def run_events(
    registry: ModelRegistry, body: dict[str, Any], settings: Settings | None = None
) -> list[Event]:
    """Every event of one run through the same code path as the server, without HTTP."""
    plan = plan_run(registry, parse_request(body, settings or Settings()))
    events: list[Event] = []
    execute_run(registry, plan, events.append, started=time.perf_counter())
    return events


# --- a real server on loopback --------------------------------------------------------------------


class LiveServer:
    def __init__(self, app: Any, send_buffer: int | None = None) -> None:
        self.app = app
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if send_buffer is not None:  # accepted connections inherit it: a stall shows after a few KB
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def serve() -> Iterator[Callable[..., LiveServer]]:
    """`serve(settings, registry)` starts a uvicorn server on a free loopback port for this test."""
    servers: list[LiveServer] = []

    def start(settings: Settings, registry: ModelRegistry) -> LiveServer:
        server = LiveServer(create_app(settings, registry)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(autouse=True)
def _torch_threads() -> None:
    # Two cores: keep torch from oversubscribing when a test runs a server and a client side by side.
    torch.set_num_threads(2)
