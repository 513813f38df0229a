"""Whole server processes on loopback: SIGTERM with readers that never read ends within the stated time,
and kill -9 mid-run gives the TypeScript client (@mav/client, built) a retryable error, never a throw;
with retries on, a run started while the server is down goes through once it is back."""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import time
from typing import Any

import pytest

from .conftest import HERE, ServerProcess, stalled_reader, tiny_server, wait_for_active

pytestmark = pytest.mark.timeout(600)
CLIENT_DIST = HERE.parents[2] / "mav-client" / "dist" / "index.js"


def test_sigterm_with_stalled_readers_ends_within_the_shutdown_timeout(figures: dict[str, Any]) -> None:
    shutdown = 2.0
    env = {"MAV_SHUTDOWN_TIMEOUT_SECONDS": str(shutdown), "MAV_STALL_TIMEOUT_SECONDS": "60"}
    server = tiny_server(env).start()
    readers = []
    try:
        server.wait_ready()
        body = {"model": "tiny-slow", "prompt": "Hello", "max_new_tokens": 200, "top_n": 100}
        readers = [stalled_reader(server.port, body) for _ in range(2)]
        wait_for_active(server.url, 2, within=30)
        time.sleep(0.5)
        start = time.monotonic()
        server.signal(signal.SIGTERM)
        code = server.wait(shutdown + 30)
        took = time.monotonic() - start
        assert code is not None, "the server did not exit"
        figures["sigterm_exit_s"] = round(took, 2)
        figures["sigterm_shutdown_timeout_s"] = shutdown
        assert took < shutdown + 5, took
    finally:
        for reader in readers:
            reader.close()
        server.stop()


class NodeClient:
    """`kill_client.mjs` in a child process; its JSON lines read as they come."""

    def __init__(self, url: str, model: str, tokens: int, retry: bool) -> None:
        node = shutil.which("node")
        assert node, "node is needed for the TypeScript client"
        script = str(HERE / "kill_client.mjs")
        args = [node, script, f"{url}/api", model, str(tokens), "1" if retry else "0"]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        self.lines: list[dict[str, Any]] = []
        self._selector = selectors.DefaultSelector()
        assert self.proc.stdout is not None
        self._selector.register(self.proc.stdout, selectors.EVENT_READ)

    def read_until(self, done: Any, timeout: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        while not any(done(line) for line in self.lines):
            left = deadline - time.monotonic()
            assert left > 0, f"the client did not get there in {timeout} s: {self.lines[-5:]}"
            if self._selector.select(left):
                text = self.proc.stdout.readline()
                assert text, f"the client exited early: {self.lines[-5:]}"
                self.lines.append(json.loads(text))
        return self.lines

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)


def ended(line: dict[str, Any]) -> bool:
    return "end" in line or "thrown" in line


def test_kill_9_mid_run_gives_the_client_a_retryable_error(figures: dict[str, Any]) -> None:
    assert CLIENT_DIST.exists(), f"{CLIENT_DIST} is missing: build @mav/client first (npm run setup)"
    server = tiny_server().start()
    clients: list[NodeClient] = []
    back: ServerProcess | None = None
    try:
        server.wait_ready()
        streaming = NodeClient(server.url, "tiny-slow", 200, retry=True)
        clients.append(streaming)
        streaming.read_until(lambda line: line.get("type") == "step", timeout=60)
        os.kill(server.pid, signal.SIGKILL)
        assert server.wait(10) is not None
        lines = streaming.read_until(ended, timeout=30)
        assert not any("thrown" in line for line in lines), lines[-3:]
        errors = [line for line in lines if line.get("type") == "error"]
        assert len(errors) == 1 and errors[0]["retryable"] is True, errors
        assert errors[0]["code"] in ("network_error", "incomplete_stream")
        assert not any("retry" in line for line in lines), "a run that showed steps is never restarted"
        figures["kill9_client_error"] = errors[0]["code"]

        # Started while the server is down: the client waits and retries until it is back.
        waiting = NodeClient(server.url, "tiny-gpt2", 3, retry=True)
        clients.append(waiting)
        waiting.read_until(lambda line: "retry" in line, timeout=30)
        back = tiny_server(port=server.port).start().wait_ready()
        lines = waiting.read_until(ended, timeout=120)
        assert not any("thrown" in line for line in lines), lines[-3:]
        assert [line.get("type") for line in lines if "type" in line][-1] == "done"
        figures["kill9_retries_until_back"] = sum(1 for line in lines if "retry" in line)
    finally:
        for client in clients:
            client.close()
        server.stop()
        if back is not None:
            back.stop()
