"""The reliability suite: real servers on loopback under fuzzing, stalled and slow readers, disconnect
storms, more runs than slots, a soak, SIGTERM and kill -9.

Servers: a `mav-server` process with the bundled model (fuzzing, soak), tiny-model server processes
started the same way (`tiny_server.py`: SIGTERM, kill -9) and in-process uvicorn (stream tests). Figures
are printed at the end of the pytest run and, with `MAV_RELIABILITY_JSON=<path>`, written there as JSON
for `pnpm bench`. `MAV_RELIABILITY_QUICK=1` shrinks the counts (the bench's `--quick`).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

HERE = Path(__file__).resolve().parent
QUICK = os.environ.get("MAV_RELIABILITY_QUICK") == "1"
FIGURES: dict[str, Any] = {}


@pytest.fixture(scope="session")
def figures() -> dict[str, Any]:
    """Figures a test measured, by the key `pnpm bench` reports them under."""
    return FIGURES


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.section("reliability figures")
    for key, value in sorted(FIGURES.items()):
        terminalreporter.write_line(f"{key}: {value}")
    target = os.environ.get("MAV_RELIABILITY_JSON")
    if target:
        Path(target).write_text(json.dumps(FIGURES, indent=2) + "\n", encoding="utf-8")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """A server in its own process (and process group) on a loopback port, its output kept in a file."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], port: int) -> None:
        self.name = name
        self.command = command
        self.env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **env}
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = tempfile.NamedTemporaryFile(prefix=f"mav-{name}-", suffix=".log", delete=False)  # noqa: SIM115
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        self.proc = subprocess.Popen(
            self.command, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self

    def wait_ready(self, timeout: float = 240.0) -> ServerProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=2.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer within {timeout} s:\n{self.tail()}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.pid, sig)

    def wait(self, timeout: float) -> int | None:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.signal(signal.SIGTERM)
        if self.wait(15) is None:
            os.killpg(self.pid, signal.SIGKILL)
            self.wait(5)

    def tail(self, lines: int = 30) -> str:
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])


def stalled_reader(port: int, body: dict[str, Any]) -> socket.socket:
    """Sends a run and never reads a byte of the answer (with a small receive buffer)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    payload = json.dumps(body).encode()
    head = (
        f"POST /api/run HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    )
    sock.sendall(head.encode() + payload)
    return sock


def wait_for_active(url: str, count: int, within: float) -> float:
    """Seconds until `<url>/api/health` reports `count` active runs."""
    start = time.monotonic()
    while httpx.get(f"{url}/api/health", timeout=10).json()["active_runs"] != count:
        assert time.monotonic() - start < within, f"active_runs never became {count} within {within} s"
        time.sleep(0.01)
    return time.monotonic() - start


def mav_server_command(port: int) -> list[str]:
    script = Path(sys.executable).parent / "mav-server"
    head = [str(script)] if script.exists() else [sys.executable, "-m", "mav_server.cli"]
    return [*head, "--host", "127.0.0.1", "--port", str(port), "--preload", "--log-level", "warning"]


def tiny_server(env: dict[str, str] | None = None, port: int | None = None) -> ServerProcess:
    """A tiny-model server process (models `tiny-gpt2` and `tiny-slow`), not yet started."""
    port = port or free_port()
    command = [sys.executable, str(HERE / "tiny_server.py"), str(port)]
    return ServerProcess("tiny-server", command, env or {}, port)


@pytest.fixture(scope="session")
def bundled_server() -> Iterator[ServerProcess]:
    """`mav-server` with the bundled model, a small token cap and short prompts, for fuzzing and the soak."""
    port = free_port()
    env = {
        "MAV_MAX_NEW_TOKENS": "2",
        "MAV_MAX_PROMPT_CHARS": "64",
        "MAV_MAX_CONCURRENT_RUNS": "2",
        "MAV_STALL_TIMEOUT_SECONDS": "5",
    }
    server = ServerProcess("mav-server", mav_server_command(port), env, port).start()
    try:
        yield server.wait_ready()
    finally:
        server.stop()
