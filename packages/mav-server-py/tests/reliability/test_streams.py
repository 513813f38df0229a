"""Readers that misbehave, against in-process uvicorn on loopback with tiny models: stalled readers lose
their slot after the stall timeout (and generation waits for them until then), slow readers get every
event, disconnect storms leave no run behind, and more clients than slots get 429s, never a broken run."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mav_server.app import create_app
from mav_server.config import Settings
from mav_server.models import ModelRegistry

from ..conftest import LiveServer, hooked_tiny
from ..sse_reader import iter_sse
from .conftest import QUICK, stalled_reader, wait_for_active

TIMEOUT = httpx.Timeout(30.0)
MODEL = "tiny-progress"


class ProgressHook:
    """Counts forward passes and remembers when the last one ran; `delay` seconds each."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls = 0
        self.last = time.monotonic()

    def __call__(self, module: Any, args: Any, output: Any) -> None:
        self.calls += 1
        self.last = time.monotonic()
        if self.delay:
            time.sleep(self.delay)


@pytest.fixture
def live() -> Iterator[Any]:
    """`live(hook, **settings)`: a server on a tiny model hooked with `hook`, with small socket buffers."""
    servers: list[LiveServer] = []

    def start(hook: ProgressHook, **overrides: Any) -> LiveServer:
        registry = ModelRegistry([hooked_tiny(MODEL, hook)], device="cpu")
        registry.get(MODEL)
        settings = Settings(models=(MODEL,), max_concurrent_runs=2, **overrides)
        server = LiveServer(create_app(settings, registry), send_buffer=8192).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def active_runs(server: LiveServer) -> int:
    return int(httpx.get(f"{server.url}/api/health", timeout=TIMEOUT).json()["active_runs"])


def test_stalled_readers_pause_generation_then_free_their_slots(live: Any, figures: dict[str, Any]) -> None:
    hook = ProgressHook()
    stall = 1.0
    server = live(hook, stall_timeout_seconds=stall)
    tokens = 200
    body = {"model": MODEL, "prompt": "Hello", "max_new_tokens": tokens, "top_n": 100}
    readers = [stalled_reader(server.port, body) for _ in range(2)]
    try:
        wait_for_active(server.url, 2, within=20)
        refused = httpx.post(f"{server.url}/api/run", json=body, timeout=TIMEOUT)
        assert refused.status_code == 429, "both slots are held while the readers stall"
        wait_for_active(server.url, 0, within=stall + 20)
        freed = time.monotonic()
        passes = hook.calls
        # Each run stopped where its buffers filled, far short of the tokens asked for.
        assert passes < 2 * tokens // 2, passes
        release = freed - hook.last
        assert release < stall + 2, release
        figures["stalled_slot_release_s"] = round(release, 2)
        figures["stalled_timeout_s"] = stall
        figures["stalled_run_forward_passes"] = passes // 2
        ok = httpx.post(f"{server.url}/api/run", json={**body, "max_new_tokens": 3}, timeout=TIMEOUT)
        assert ok.status_code == 200 and "event: done" in ok.text
    finally:
        for reader in readers:
            reader.close()


def test_a_slow_reader_gets_every_event(live: Any) -> None:
    hook = ProgressHook()
    server = live(hook, stall_timeout_seconds=0.5)
    tokens = 60
    body = {"model": MODEL, "prompt": "Hello", "max_new_tokens": tokens, "top_n": 100}
    received = bytearray()
    start = time.monotonic()
    with httpx.stream("POST", f"{server.url}/api/run", json=body, timeout=TIMEOUT) as response:
        assert response.status_code == 200
        for chunk in response.iter_raw(4096):
            received += chunk
            time.sleep(0.01)  # a reader slower than generation
    took = time.monotonic() - start
    messages = list(iter_sse(received.decode("utf-8")))
    names = [m.event for m in messages]
    assert names.count("step") == tokens and names[-1] == "done", (names[-3:], took)
    steps = [json.loads(m.data)["step"] for m in messages if m.event == "step"]
    assert steps == list(range(tokens)), "every step, in order"


def test_a_disconnect_storm_leaves_no_run_behind(live: Any, figures: dict[str, Any]) -> None:
    hook = ProgressHook(delay=0.005)
    server = live(hook)
    body = {"model": MODEL, "prompt": "Hello", "max_new_tokens": 150, "top_n": 20}
    statuses: list[int] = []
    rng = random.Random(13)
    rounds, clients = (2, 6) if QUICK else (4, 10)

    def client(reads: int) -> None:
        try:
            with httpx.stream("POST", f"{server.url}/api/run", json=body, timeout=TIMEOUT) as response:
                statuses.append(response.status_code)
                for i, _ in enumerate(response.iter_raw()):
                    if i >= reads:
                        break
        except httpx.HTTPError:
            statuses.append(-1)

    for _ in range(rounds):
        threads = [threading.Thread(target=client, args=(rng.randint(0, 3),)) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    start = time.monotonic()
    wait_for_active(server.url, 0, within=5)
    figures["storm_runs_started"] = statuses.count(200)
    figures["storm_idle_s"] = round(time.monotonic() - start, 2)
    assert set(statuses) <= {200, 429}, statuses
    workers = [t for t in threading.enumerate() if t.name.startswith("mav-run")]
    assert len(workers) <= 2, "the worker pool never grows past the slots"
    ok = httpx.post(f"{server.url}/api/run", json={**body, "max_new_tokens": 3}, timeout=TIMEOUT)
    assert ok.status_code == 200 and "event: done" in ok.text


def test_more_clients_than_slots_get_429_or_a_whole_run(live: Any, figures: dict[str, Any]) -> None:
    hook = ProgressHook(delay=0.005)
    server = live(hook)
    body = {"model": MODEL, "prompt": "Hello", "max_new_tokens": 20}
    answers: list[tuple[int, str, str | None]] = []
    held: list[int] = []
    done = threading.Event()

    def client() -> None:
        response = httpx.post(f"{server.url}/api/run", json=body, timeout=TIMEOUT)
        answers.append((response.status_code, response.text, response.headers.get("retry-after")))

    def watch() -> None:
        while not done.is_set():
            held.append(active_runs(server))
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    watcher.join()
    for status, text, retry_after in answers:
        if status == 200:
            names = [m.event for m in iter_sse(text)]
            assert names.count("step") == 20 and names[-1] == "done"
        else:
            assert (
                status == 429
                and retry_after is not None
                and json.loads(text)["error"]["code"] == "too_many_runs"
            )
    assert max(held) <= 2
    figures["over_cap_runs_held_max"] = max(held)
    figures["over_cap_refused"] = sum(1 for status, _, _ in answers if status == 429)
