"""The app on Ray Serve, on a local Ray cluster on loopback: two replicas of the bundled model behind
Serve's HTTP proxy. Runs spread over both and stream intact, a client disconnect stops generation in its
replica, and a replica killed mid-run ends only its own streams (a retryable error in @mav/client) while
Serve starts a replacement. Every port Ray opens is a free one; the cluster is shut down in every outcome."""

from __future__ import annotations

import json
import os
import queue
import secrets
import shutil
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

try:
    import ray
    import ray._private.parameter as ray_parameter
    from ray import serve
    from ray.serve.schema import ServeDeploySchema
except ImportError:  # pragma: no cover - the test command installs the extra
    pytest.fail("these tests need the ray extra: run `npm run setup` (pip install -e '.[ray]')")

from mav_server.ray_cli import APP_NAME as APP
from mav_server.ray_cli import build_parser, deploy, serve_args_from
from mav_server.ray_serve import DEPLOYMENT_NAME, REPLICA_HEADER, ServeArgs, build_app

from .sse_reader import iter_sse

RUNS_PER_REPLICA = 2
# The cluster's start (two model loads) counts towards the first test; a shared, loaded machine is slow.
pytestmark = pytest.mark.timeout(480)
TIMEOUT = httpx.Timeout(60.0)
CLIENT_SCRIPT = Path(__file__).with_name("mav_client_runs.mjs")
SERVE_CONFIG = Path(__file__).resolve().parents[1] / "serve" / "mav.yaml"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Cluster:
    url: str
    started: float
    replicas: set[str] = field(default_factory=set)
    figures: dict[str, Any] = field(default_factory=dict)

    def replica_states(self) -> dict[str, int]:
        status = serve.status().applications[APP].deployments[DEPLOYMENT_NAME]
        return {str(state): count for state, count in status.replica_states.items() if count}


def start_ray(temp_dir: Path) -> None:
    # ray.init has no argument for the dashboard agent's port, whose default is a fixed one; 0 = free.
    make_params = ray_parameter.RayParams

    def params(*args: Any, **kwargs: Any) -> Any:
        return make_params(*args, **{**kwargs, "dashboard_agent_listen_port": 0})

    ray_parameter.RayParams = params  # type: ignore[misc]
    try:
        ray.init(
            _temp_dir=str(temp_dir),
            _node_ip_address="127.0.0.1",
            include_dashboard=False,
            num_cpus=2,
            log_to_driver=False,
            configure_logging=False,
        )
    finally:
        ray_parameter.RayParams = make_params  # type: ignore[misc]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    started = time.monotonic()
    # Ray turns token auth on for a new local cluster; this gives it a token of its own in the
    # environment, which the replicas inherit (it would otherwise write one to ~/.ray/auth_token).
    saved = {name: os.environ.get(name) for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")}
    os.environ.pop("RAY_AUTH_MODE", None)
    os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
    temp_dir = Path(f"/tmp/mav-ray-{os.getpid()}-{secrets.token_hex(3)}")  # short: Ray's socket paths
    try:
        start_ray(temp_dir)
        port = free_port()
        deploy(ServeArgs(num_replicas=2, runs_per_replica=RUNS_PER_REPLICA), host="127.0.0.1", port=port)
        figures = {"cluster_ready_s": round(time.monotonic() - started, 1)}
        yield Cluster(f"http://127.0.0.1:{port}/api", started, figures=figures)
    finally:
        # Ends every process of this local cluster at once; serve.shutdown() would first wait for the
        # replacement replica to finish loading its model.
        ray.shutdown()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(temp_dir, ignore_errors=True)


@dataclass
class StreamResult:
    status: int
    replica: str | None
    events: list[tuple[str, dict[str, Any]]]


def stream_run(url: str, body: dict[str, Any]) -> StreamResult:
    with httpx.stream("POST", f"{url}/run", json=body, timeout=TIMEOUT) as response:
        text = response.read().decode("utf-8")
        replica = response.headers.get(REPLICA_HEADER)
        if response.status_code != 200:
            return StreamResult(response.status_code, replica, [("http", {"body": text})])
    return StreamResult(200, replica, [(m.event, json.loads(m.data)) for m in iter_sse(text)])


def assert_intact(result: StreamResult, validate: Callable[[str, Any], None], max_new_tokens: int) -> None:
    """Every event matches the schema; meta first, steps 0..n-1 in order, done last; and no
    `loading_model` status, since a replica loads its model before Serve routes to it."""
    assert result.status == 200, result.events
    names = [name for name, _ in result.events]
    assert names[0] == "meta" and names[-1] == "done", names
    assert all(data.get("phase") != "loading_model" for name, data in result.events if name == "status")
    for name, data in result.events:
        validate(f"{name}_event", data)
    steps = [data["step"] for name, data in result.events if name == "step"]
    assert steps == list(range(len(steps))) and 1 <= len(steps) <= max_new_tokens
    assert result.events[-1][1]["steps"] == len(steps)
    assert result.events[-1][1]["reason"] in ("max_tokens", "eos")


def concurrent_runs(url: str, bodies: list[dict[str, Any]]) -> list[StreamResult]:
    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(lambda body: stream_run(url, body), bodies))


class ClientRuns:
    """Runs at once through @mav/client (`mav_client_runs.mjs` in node), read line by line as they go:
    which replica took each run, its events, and how it ended (`end`, or what the client threw)."""

    def __init__(self, url: str, requests: list[dict[str, Any]]) -> None:
        self.process = subprocess.Popen(
            ["node", str(CLIENT_SCRIPT), url, json.dumps(requests)], stdout=subprocess.PIPE, text=True
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.status: dict[int, int] = {}
        self.replica: dict[int, str] = {}
        self.events: dict[int, list[dict[str, Any]]] = {i: [] for i in range(len(requests))}
        self.ends: dict[int, Any] = {}

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def steps(self, run: int) -> int:
        return sum(event["type"] == "step" for event in self.events[run])

    def follow(self, within: float) -> Iterator[int]:
        """Records each line and yields its run number, until the client exits (which it must, in time)."""
        deadline = time.monotonic() + within
        try:
            while (line := self.lines.get(timeout=max(0.1, deadline - time.monotonic()))) is not None:
                item = json.loads(line)
                run = item["run"]
                if "status" in item:
                    self.status[run], self.replica[run] = item["status"], item["replica"]
                elif "event" in item:
                    self.events[run].append(item["event"])
                else:
                    self.ends[run] = item.get("thrown", "end")
                yield run
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait(timeout=10)
        assert self.process.returncode == 0 and len(self.ends) == len(self.events), self.ends


def test_serve_config_file_builds_the_app() -> None:
    config = ServeDeploySchema.model_validate(yaml.safe_load(SERVE_CONFIG.read_text(encoding="utf-8")))
    (application,) = config.applications
    assert application.import_path == "mav_server.ray_serve:build_app"
    args = ServeArgs.model_validate(application.args)
    options = args.deployment_options()
    assert options["max_ongoing_requests"] == options["autoscaling_config"]["target_ongoing_requests"]
    assert options["ray_actor_options"]["num_gpus"] == 1
    build_app(application.args)


def test_cli_flags_become_serve_args() -> None:
    args = build_parser().parse_args(["--replicas", "3", "--num-gpus", "1", "--model", "a", "--model", "b"])
    serve_args = serve_args_from(args, {"MAV_MAX_NEW_TOKENS": "256", "HOME": "/root"})
    assert serve_args.env == {"MAV_MAX_NEW_TOKENS": "256", "MAV_MODELS": "a,b"}
    options = serve_args.deployment_options()
    assert options["num_replicas"] == 3 and "autoscaling_config" not in options
    assert options["max_ongoing_requests"] == 4 and options["max_queued_requests"] == 12
    assert options["backpressure_config"]["status_code"] == 429
    autoscaled = serve_args_from(
        build_parser().parse_args(["--min-replicas", "2", "--max-replicas", "5"]), {}
    )
    assert autoscaled.deployment_options()["autoscaling_config"] == {
        "min_replicas": 2,
        "max_replicas": 5,
        "target_ongoing_requests": 2,
    }
    with pytest.raises(ValueError, match="min_replicas"):
        serve_args_from(build_parser().parse_args(["--min-replicas", "3"]), {}).deployment_options()


def test_runs_spread_over_both_replicas_and_stream_intact(cluster: Cluster, validate: Any) -> None:
    body = {"prompt": "Name three colours.", "max_new_tokens": 12, "top_n": 5}
    results = concurrent_runs(cluster.url, [body] * (2 * RUNS_PER_REPLICA))
    for result in results:
        assert_intact(result, validate, 12)
    per_replica = Counter(result.replica for result in results)
    assert len(per_replica) == 2 and None not in per_replica, per_replica
    cluster.replicas = set(per_replica)
    cluster.figures["runs_per_replica"] = sorted(per_replica.values())


class HeldRun:
    """A long run kept streaming on its replica until `release()`, which disconnects it (and so stops
    its generation). `started` is set at its first step, or when it ends without one."""

    def __init__(self, url: str, body: dict[str, Any]) -> None:
        self.status: int | None = None
        self.started = threading.Event()
        self._release = threading.Event()
        self._thread = threading.Thread(target=self._hold, args=(url, body), daemon=True)
        self._thread.start()

    def _hold(self, url: str, body: dict[str, Any]) -> None:
        try:
            with httpx.stream("POST", f"{url}/run", json=body, timeout=TIMEOUT) as response:
                self.status = response.status_code
                for chunk in response.iter_text():
                    if "event: step" in chunk:
                        self.started.set()
                    if self._release.is_set():
                        break
        finally:
            self.started.set()

    def release(self) -> None:
        self._release.set()
        self._thread.join(timeout=60)


def test_runs_past_the_replicas_queue_then_get_429(cluster: Cluster, validate: Any) -> None:
    # Staged, so the split does not hang on timing: the replicas' capacity (2 x 2) streams long runs,
    # as many more wait in the proxy's queue (max_queued_requests), and only then do two more arrive,
    # which Serve refuses at once with 429 and Retry-After.
    capacity = 2 * RUNS_PER_REPLICA
    long_run = {"prompt": "Tell me a long story.", "max_new_tokens": 400}
    short_run = {"prompt": "Say hello.", "max_new_tokens": 6}
    held = [HeldRun(cluster.url, long_run) for _ in range(capacity)]
    with ThreadPoolExecutor(max_workers=capacity) as pool:
        try:
            for run in held:
                assert run.started.wait(120) and run.status == 200, run.status
            queued = [pool.submit(stream_run, cluster.url, short_run) for _ in range(capacity)]
            time.sleep(2.0)  # loopback: ample for the proxy to take them in; they cannot start yet
            early = [future.result().status for future in queued if future.done()]
            assert not early, f"queued runs answered before any capacity freed: {early}"
            refused = ClientRuns(cluster.url, [short_run] * 2)
            for _ in refused.follow(within=60):
                pass
        finally:
            for run in held:
                run.release()
        # Serve's 429 has a plain-text body: the client still reads the status and Retry-After.
        assert set(refused.status.values()) == {429}, refused.status
        for thrown in refused.ends.values():
            assert thrown["name"] == "MavHttpError" and thrown["code"] == "http_429", thrown
            assert thrown["status"] == 429 and thrown["retryAfter"] == 2, thrown
        # The queued runs start once the held ones leave, and stream intact.
        for future in queued:
            assert_intact(future.result(timeout=120), validate, 6)
    cluster.figures["over_capacity"] = {"queued_then_served": len(queued), "refused_429": len(refused.ends)}


def test_disconnect_stops_generation_in_its_replica(cluster: Cluster) -> None:
    body = {"prompt": "Tell me a long story.", "max_new_tokens": 400}
    with httpx.stream("POST", f"{cluster.url}/run", json=body, timeout=TIMEOUT) as response:
        replica = response.headers[REPLICA_HEADER]
        steps = 0
        for chunk in response.iter_text():
            steps += chunk.count("event: step")
            if steps >= 2:
                break
    closed = time.monotonic()
    while True:
        # /health answers from whichever replica Serve picks; the header says which one that was.
        health = httpx.get(f"{cluster.url}/health", timeout=TIMEOUT)
        if health.headers[REPLICA_HEADER] == replica and health.json()["active_runs"] == 0:
            break
        assert time.monotonic() - closed < 10, "the replica kept generating after the client left"
        time.sleep(0.05)
    cluster.figures["disconnect_to_idle_s"] = round(time.monotonic() - closed, 2)


def test_killed_replica_loses_only_its_runs_and_serve_replaces_it(cluster: Cluster, validate: Any) -> None:
    assert len(cluster.replicas) == 2, "needs the replicas seen by the spread test"
    tokens = 32
    requests = [{"prompt": f"Count to fifty, run {i}.", "max_new_tokens": tokens} for i in range(4)]
    runs = ClientRuns(cluster.url, requests)
    victim: str | None = None
    streaming_on_victim: list[int] = []
    for _ in runs.follow(within=150):
        if victim is not None or len(set(runs.replica.values())) < 2 or len(runs.replica) < len(requests):
            continue
        # Kill the replica of the first run two steps in, while all four are streaming.
        leader = next((run for run in runs.replica if runs.steps(run) >= 2), None)
        if leader is not None and all(runs.steps(run) < tokens for run in runs.replica):
            victim = runs.replica[leader]
            ray.kill(ray.get_actor(f"SERVE_REPLICA::{APP}#{DEPLOYMENT_NAME}#{victim}", namespace="serve"))
            streaming_on_victim = [run for run, replica in runs.replica.items() if replica == victim]
    assert victim is not None, f"never saw all runs streaming on both replicas: {runs.replica}"
    assert set(runs.status.values()) == {200}, runs.status

    lost, finished = [], []
    for run, evs in runs.events.items():
        assert runs.ends[run] == "end", f"run {run}: the client threw instead of yielding an error"
        types = [e["type"] for e in evs]
        if runs.replica[run] == victim:
            # The stream was cut: no done, and the client's last word is a retryable error.
            assert "done" not in types and types[-1] == "error", types
            assert evs[-1]["retryable"] is True and evs[-1]["code"] in ("network_error", "incomplete_stream")
            lost.append(run)
            cluster.figures.setdefault("lost_run_errors", []).append(evs[-1]["code"])
        else:
            assert types[-1] == "done" and types.count("step") == evs[-1]["steps"], types
            finished.append(run)
        steps = [e["step"] for e in evs if e["type"] == "step"]
        assert steps == list(range(len(steps)))
    assert sorted(lost) == sorted(streaming_on_victim) and len(finished) == len(requests) - len(lost)

    # New runs right after the kill: the surviving replica serves them while the new one loads.
    survivor = (cluster.replicas - {victim}).pop()
    body = {"prompt": "Say hello.", "max_new_tokens": 6}
    for result in concurrent_runs(cluster.url, [body] * RUNS_PER_REPLICA):
        assert_intact(result, validate, 6)
        assert result.replica == survivor

    # Serve has already started a replacement, which loads the model before it takes runs. Waiting for
    # that load would add a third one to the test's time; the two first loads show the same path.
    deadline = time.monotonic() + 10
    while (states := cluster.replica_states()) not in ({"RUNNING": 1, "STARTING": 1}, {"RUNNING": 2}):
        assert time.monotonic() < deadline, f"Serve did not start a replacement: {states}"
        time.sleep(0.2)

    cluster.figures.update(
        runs_on_killed_replica=len(streaming_on_victim),
        runs_lost=len(lost),
        runs_finished_on_survivor=len(finished),
        replacement_states_after_kill=states,
        test_wall_s=round(time.monotonic() - cluster.started, 1),
    )
    print(f"\nray serve figures: {json.dumps(cluster.figures)}")
