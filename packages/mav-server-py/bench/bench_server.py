"""Benchmark of the reference backend (not a test).

For N new tokens of the bundled SmolLM2-135M-Instruct on the torch engine on this machine it prints:
- seconds for our generation (every step event built and encoded) vs plain `model.generate` with the KV
  cache vs openmav's `StateFetcher`, and the ratios; our generation as it decides drafting (a guessed next
  token checked in the same pass, while it pays), and both paths forced: drafting on every pass, and one
  pass per token; the measured cost of a drafted pass and how many passes each path ran;
- bytes per step event, ours vs the seed's format (an openmav `ModelMeasurements` serialized as JSON with
  its full logits and probabilities);
- time to the first step over HTTP (a real uvicorn server on loopback, model already loaded);
- resident memory;
- the numpy engine (no torch) on the same tokens in this process, and a fresh `mav-server --engine numpy`
  process: exec to the first `step` of a short run (imports, GGUF load, prompt pass), and its resident
  memory once that run is done.

Timings on a shared machine are noisy: each method runs `--repeats` times, interleaved, and the minimum
is reported (with the median beside it).

    .venv/bin/python packages/mav-server-py/bench/bench_server.py [--tokens 256] [--quick] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import torch

from mav_server.config import BUNDLED_MODEL_ID
from mav_server.drafting import Drafter
from mav_server.engines.torch import TorchModel
from mav_server.generation import generate
from mav_server.models import ModelRegistry, source_for
from mav_server.protocol import EffectiveRequest, StepEvent
from mav_server.sse import encode_event

PROMPT = "Once upon a time, in a small village by the sea,"


def spread(values: Sequence[float], digits: int) -> dict[str, float]:
    """Fastest, median and slowest of the repeats."""
    return {
        "min": round(min(values), digits),
        "median": round(statistics.median(values), digits),
        "max": round(max(values), digits),
    }


def rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_generate(loaded: TorchModel, prompt_ids: list[int], n: int) -> tuple[float, float, list[int]]:
    ids = torch.tensor([prompt_ids])
    cpu = time.process_time()
    start = time.perf_counter()
    with torch.inference_mode():
        out = loaded.model.generate(
            ids,
            max_new_tokens=n,
            min_new_tokens=n,
            do_sample=False,
            pad_token_id=loaded.tokenizer.hf.pad_token_id,
        )
    return time.perf_counter() - start, time.process_time() - cpu, out[0, len(prompt_ids) :].tolist()


DRAFTING = {"auto": "measured", "on": 0.0, "off": None}
"""Drafting paths: as the server decides it (the model's measured draft cost), on every pass, never."""


DETAIL = ["heads", "lens"]
"""Every step detail (`RunRequest.detail`): what `backend_s_detail` and the detail step bytes measure."""


def time_ours(
    loaded: TorchModel, prompt_ids: list[int], n: int, drafting: str = "auto", detail: list[str] | None = None
) -> tuple[float, float, list[StepEvent], list[int]]:
    """Our generation of exactly `n` tokens (the end token does not stop it), with `detail` if given."""
    cost = loaded.draft_cost if drafting == "auto" else DRAFTING[drafting]
    loaded = dataclasses.replace(loaded, eos_ids=frozenset(), draft_cost=cost)
    request = EffectiveRequest(
        model=loaded.card.id, prompt=PROMPT, max_new_tokens=n, chat=False, detail=detail or None
    )
    steps: list[StepEvent] = []
    sizes: list[int] = []

    def emit(event: Any) -> None:
        data = encode_event(event)  # the per-step work the server does, short of the socket write
        if isinstance(event, StepEvent):
            steps.append(event)
            sizes.append(len(data))

    cpu = time.process_time()
    start = time.perf_counter()
    generate(loaded, request, prompt_ids, emit, started=start)
    return time.perf_counter() - start, time.process_time() - cpu, steps, sizes


def count_passes(run: Any) -> int:
    """Forward passes during `run()`, the prompt's included."""
    passes = 0
    feed = Drafter._feed

    def counting(self: Drafter, *args: Any, **kwargs: Any) -> Any:
        nonlocal passes
        passes += 1
        return feed(self, *args, **kwargs)

    Drafter._feed = counting  # type: ignore[method-assign]
    try:
        run()
    finally:
        Drafter._feed = feed  # type: ignore[method-assign]
    return passes


def time_openmav(loaded: TorchModel, n: int) -> tuple[float, list[int]]:
    """openmav's StateFetcher as the seed runs it (a full forward over the whole sequence per token);
    returns the seconds and the byte size of each step serialized the seed's way."""
    from openmav.processors.state_fetcher import StateFetcher

    fetcher = StateFetcher(loaded.backend, max_new_tokens=n, aggregation="l2")
    sizes: list[int] = []
    with rows_layout(loaded.backend.model):
        start = time.perf_counter()
        elapsed_without_serializing = 0.0
        mark = start
        for measurement in fetcher.fetch_next(PROMPT, temperature=0.0):
            elapsed_without_serializing += time.perf_counter() - mark
            if len(sizes) < 8:  # serializing 2 MB per step is slow; the size is the same for every step
                sizes.append(len(seed_json(measurement)))
            mark = time.perf_counter()
    return elapsed_without_serializing, sizes


@contextlib.contextmanager
def rows_layout(model: Any) -> Any:
    """The model's weights as transformers loads them ((out, in) rows), not as the lean decode lays
    them out, so openmav is timed as a user runs it and our layout cannot move its figure."""
    laid_out = [(p, p.data) for p in model.parameters() if not p.is_contiguous()]
    with torch.inference_mode(False), torch.no_grad():
        for p, data in laid_out:
            p.data = data.contiguous()
    try:
        yield
    finally:
        for p, data in laid_out:
            p.data = data


def seed_json(measurement: Any) -> bytes:
    """The seed's wire format: every field of openmav's ModelMeasurements, tensors as JSON lists."""

    def plain(value: Any) -> Any:
        if hasattr(value, "tolist"):
            return value.tolist()
        return value

    return json.dumps({k: plain(v) for k, v in vars(measurement).items()}).encode("utf-8")


HTTP_PROMPT = "What is the capital of France?"


def prompt_forward_ms(loaded: TorchModel, repeats: int) -> list[float]:
    """One plain forward pass of the HTTP benchmark's prompt (the anchor of the first-step figure)."""
    ids = torch.tensor([loaded.tokenizer.encode(HTTP_PROMPT)])
    out = []
    with torch.inference_mode():
        loaded.model(ids)  # warm-up
        for _ in range(repeats):
            start = time.perf_counter()
            loaded.model(ids)
            out.append((time.perf_counter() - start) * 1000)
    return out


def first_step_over_http(repeats: int) -> list[float]:
    """Request to first `step` event against a real `mav-server` process on loopback, model warm.

    The server runs in its own process, as deployed: with server and client in one interpreter their
    threads share the GIL and the figure (about 70 ms more, measured) would describe the harness.
    """
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("mav-server")),
        *("--engine", "torch", "--host", "127.0.0.1", "--port", str(port)),
    ]
    server = subprocess.Popen([*command, "--preload", "--max-concurrent-runs", "1", "--log-level", "warning"])
    out = []
    try:
        body = {"prompt": HTTP_PROMPT, "max_new_tokens": 1, "chat": False}
        # One client for all requests: creating an httpx client (its TLS context) costs tens of ms.
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            deadline = time.monotonic() + 300
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if client.get("/api/health").json()["loaded_models"]:
                        break
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("mav-server did not come up with the model loaded")
                time.sleep(0.2)
            for index in range(repeats + 1):  # the first request warms the server's code paths up
                start = time.perf_counter()
                with client.stream("POST", "/api/run", json=body) as response:
                    for line in response.iter_lines():
                        if line.startswith("event: step"):
                            if index > 0:
                                out.append((time.perf_counter() - start) * 1000)
                            break
                while client.get("/api/health").json()["active_runs"]:
                    time.sleep(0.01)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return out


def free_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def proc_status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def proc_cpu_s(pid: int) -> float:
    """CPU seconds a process has used (user + system): on a loaded machine, what its wall time would
    be with a core to itself, for a process that uses one."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def numpy_cold_start(tokens: int) -> dict[str, Any]:
    """A fresh `mav-server --engine numpy` process, as a cold function starts: seconds from exec to the
    first `step` event of a short run (the model loads inside that run), then its resident memory once
    the run is done, and whether torch ever got into it."""
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("mav-server")),
        *("--engine", "numpy", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
    ]
    start = time.perf_counter()
    server = subprocess.Popen(command)
    try:
        body = {"prompt": HTTP_PROMPT, "max_new_tokens": tokens, "chat": False}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if client.get("/api/health").status_code == 200:
                        break
                if time.perf_counter() - start > 120 or server.poll() is not None:
                    raise RuntimeError("mav-server --engine numpy did not come up")
                time.sleep(0.02)
            up = time.perf_counter() - start
            first_step, first_step_cpu = None, 0.0
            steps = 0
            with client.stream("POST", "/api/run", json=body) as response:
                for line in response.iter_lines():
                    if line.startswith("event: step"):
                        steps += 1
                        if first_step is None:
                            first_step = time.perf_counter() - start
                            first_step_cpu = proc_cpu_s(server.pid)
                    elif line.startswith("event: error"):
                        raise RuntimeError(f"the run failed: {response.read()!r}")
        if first_step is None:
            raise RuntimeError("the run sent no step")
        maps = Path(f"/proc/{server.pid}/maps").read_text()
        return {
            "exec_to_first_step_s": first_step,
            "exec_to_health_s": up,
            "cpu_s_to_first_step": first_step_cpu,
            "steps": steps,
            "rss_after_one_run_mb": proc_status_mb(server.pid, "VmRSS"),
            "peak_rss_mb": proc_status_mb(server.pid, "VmHWM"),
            "torch_loaded": "libtorch" in maps,
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tokens", type=int, default=256, help="new tokens per run (default 256)")
    parser.add_argument("--repeats", type=int, default=5, help="runs of ours and of generate (default 5)")
    parser.add_argument("--quick", action="store_true", help="32 tokens, 2 repeats (a smoke run)")
    parser.add_argument("--skip-openmav", action="store_true", help="leave out the slow StateFetcher run")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    args = parser.parse_args(argv)
    n, repeats = (32, 2) if args.quick else (args.tokens, args.repeats)

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {n} new tokens, {repeats} repeats")
    rss_start = rss_mb()
    registry = ModelRegistry([source_for(BUNDLED_MODEL_ID)], engine="torch", device="cpu", dtype="float32")
    start = time.perf_counter()
    loaded = registry.get(BUNDLED_MODEL_ID)
    assert isinstance(loaded, TorchModel)
    load_s = time.perf_counter() - start
    rss_loaded = rss_mb()
    print(f"model loaded in {load_s:.1f} s; RSS {rss_start:.0f} MB before, {rss_loaded:.0f} MB after")
    prompt_ids = loaded.tokenizer.encode(PROMPT)
    path = loaded.decode_path()
    print(f"our forward pass: {path}; a drafted pass costs {loaded.draft_cost:.2f} one-token passes")
    print(f"torch intra-op threads kept at load: {torch.get_num_threads()} (of {os.cpu_count()} CPUs)")

    # Warm-up (first-call allocations), then interleaved timed runs. The warm-up of ours is a whole run,
    # so the memory figure is the server's after loading the model and serving one run: measured later,
    # it would include what `generate` and openmav's full-sequence passes left in the heap.
    passes = count_passes(lambda: time_ours(loaded, prompt_ids, n))
    rss_one_run = rss_mb()
    # Loaded after that figure: `backend_rss_mb` is the torch engine's server alone.
    numpy_registry = ModelRegistry([source_for(BUNDLED_MODEL_ID)], engine="numpy", device="cpu")
    numpy_loaded = numpy_registry.get(BUNDLED_MODEL_ID)
    assert numpy_loaded.card.engine == "numpy"
    assert numpy_loaded.tokenizer.encode(PROMPT) == prompt_ids
    drafted_passes = count_passes(lambda: time_ours(loaded, prompt_ids, n, "on"))
    time_generate(loaded, prompt_ids, 4)
    time_ours(numpy_loaded, prompt_ids, 4)
    time_ours(loaded, prompt_ids, 4, detail=DETAIL)
    gen_times, our_times, gen_cpu, our_cpu, single_times, drafted_times = [], [], [], [], [], []
    numpy_times: list[float] = []
    numpy_steps: list[StepEvent] = []
    detail_times: list[float] = []
    detail_sizes: list[int] = []
    gen_tokens: list[int] = []
    our_steps: list[StepEvent] = []
    our_sizes: list[int] = []
    for index in range(repeats):
        # "single" is ours with one forward pass per token, "drafted" ours with a guess fed whenever
        # there is one: the two paths the server chooses between.
        order = ("gen", "ours", "detail", "single", "drafted", "numpy")
        for which in order if index % 2 == 0 else order[::-1]:
            if which == "numpy":
                seconds, _, numpy_steps, _ = time_ours(numpy_loaded, prompt_ids, n)
                numpy_times.append(seconds)
            elif which == "detail":
                seconds, _, _, detail_sizes = time_ours(loaded, prompt_ids, n, detail=DETAIL)
                detail_times.append(seconds)
            elif which == "single":
                single_times.append(time_ours(loaded, prompt_ids, n, "off")[0])
            elif which == "drafted":
                drafted_times.append(time_ours(loaded, prompt_ids, n, "on")[0])
            elif which == "gen":
                seconds, cpu_seconds, gen_tokens = time_generate(loaded, prompt_ids, n)
                gen_times.append(seconds)
                gen_cpu.append(cpu_seconds)
            else:
                seconds, cpu_seconds, our_steps, our_sizes = time_ours(loaded, prompt_ids, n)
                our_times.append(seconds)
                our_cpu.append(cpu_seconds)
        print(
            f"  repeat {index + 1}: generate {gen_times[-1]:.2f} s ({gen_cpu[-1]:.2f} CPU s), "
            f"ours {our_times[-1]:.2f} s ({our_cpu[-1]:.2f} CPU s), with detail {detail_times[-1]:.2f} s, "
            f"one pass per token {single_times[-1]:.2f} s, drafting every pass {drafted_times[-1]:.2f} s, "
            f"numpy engine {numpy_times[-1]:.2f} s"
        )
    our_tokens = [step.token.id for step in our_steps]
    same = our_tokens == gen_tokens
    first_diff = next(
        (i for i, (a, b) in enumerate(zip(our_tokens, gen_tokens, strict=False)) if a != b), None
    )

    openmav_s, seed_sizes, bracket = None, [], []
    if not args.skip_openmav:
        # openmav runs once (a minute); a run of ours right before and right after it gives a ratio
        # that the machine's drift over the whole benchmark does not move.
        bracket.append(time_ours(loaded, prompt_ids, n)[0])
        print("  openmav StateFetcher run ...")
        openmav_s, seed_sizes = time_openmav(loaded, n)
        bracket.append(time_ours(loaded, prompt_ids, n)[0])

    twelve = []
    for step in our_steps:
        cut = step.model_copy(
            update={"activations": step.activations[:13], "attention_entropy": step.attention_entropy[:12]}
        )
        twelve.append(len(encode_event(cut)))
    http_ms = first_step_over_http(5 if not args.quick else 3)
    cold = [numpy_cold_start(4) for _ in range(3 if not args.quick else 1)]
    forward_ms = prompt_forward_ms(loaded, 5 if not args.quick else 3)

    ours_min, gen_min = min(our_times), min(gen_times)
    results: dict[str, Any] = {
        "model": BUNDLED_MODEL_ID,
        "tokens": n,
        "repeats": repeats,
        "threads": torch.get_num_threads(),
        "our_forward_pass": path,
        "load_seconds": round(load_s, 2),
        "generate_seconds": spread(gen_times, 3),
        "ours_seconds": spread(our_times, 3),
        "ours_forward_passes": passes,
        "draft_cost": round(loaded.draft_cost or 0.0, 3),
        "torch_threads": torch.get_num_threads(),
        "ours_one_pass_per_token_seconds": spread(single_times, 3),
        "ours_vs_one_pass_per_token_paired": round(
            statistics.median(o / s for o, s in zip(our_times, single_times, strict=True)), 3
        ),
        "ours_drafting_seconds": spread(drafted_times, 3),
        "ours_drafting_forward_passes": drafted_passes,
        "drafting_vs_one_pass_per_token_paired": round(
            statistics.median(d / s for d, s in zip(drafted_times, single_times, strict=True)), 3
        ),
        "ours_vs_generate": round(ours_min / gen_min, 3),
        "ours_vs_generate_median": round(statistics.median(our_times) / statistics.median(gen_times), 3),
        # Each repeat runs both back to back, so the ratio within a repeat cancels the machine's drift.
        "ours_vs_generate_paired": round(
            statistics.median(o / g for o, g in zip(our_times, gen_times, strict=True)), 3
        ),
        "cpu_seconds": {"generate_min": round(min(gen_cpu), 3), "ours_min": round(min(our_cpu), 3)},
        "ours_vs_generate_cpu": round(min(our_cpu) / min(gen_cpu), 3),
        "same_tokens_as_generate": same,
        "first_token_difference": first_diff,
        "openmav_statefetcher_seconds": None if openmav_s is None else round(openmav_s, 3),
        "openmav_vs_generate": None if openmav_s is None else round(openmav_s / gen_min, 2),
        "openmav_vs_ours": None if openmav_s is None else round(openmav_s / ours_min, 2),
        "openmav_vs_ours_median": None
        if openmav_s is None
        else round(openmav_s / statistics.median(our_times), 2),
        "ours_around_openmav_seconds": [round(seconds, 3) for seconds in bracket],
        "openmav_vs_ours_around_it": None
        if openmav_s is None
        else round(openmav_s / statistics.mean(bracket), 2),
        "ours_detail_seconds": spread(detail_times, 3),
        # Back to back within each repeat, like ours vs generate.
        "detail_vs_ours_paired": round(
            statistics.median(d / o for d, o in zip(detail_times, our_times, strict=True)), 3
        ),
        "step_bytes_detail": {**spread(detail_sizes, 1), "mean": round(statistics.mean(detail_sizes))},
        "step_bytes_30_layers": {**spread(our_sizes, 1), "mean": round(statistics.mean(our_sizes))},
        "step_bytes_12_layer_cut": {
            **spread(twelve, 1),
            "mean": round(statistics.mean(twelve)),
            "share_under_2000": round(sum(size < 2000 for size in twelve) / len(twelve), 3),
        },
        "seed_step_bytes": round(statistics.mean(seed_sizes)) if seed_sizes else None,
        "numpy_seconds": spread(numpy_times, 3),
        "numpy_vs_ours_paired": round(
            statistics.median(m / o for m, o in zip(numpy_times, our_times, strict=True)), 3
        ),
        "numpy_same_tokens_as_ours": [s.token.id for s in numpy_steps] == our_tokens,
        "numpy_cold_start_s": spread([c["exec_to_first_step_s"] for c in cold], 3),
        "numpy_exec_to_health_s": spread([c["exec_to_health_s"] for c in cold], 3),
        "numpy_cold_start_cpu_s": spread([c["cpu_s_to_first_step"] for c in cold], 3),
        "numpy_rss_mb_after_one_run": round(max(c["rss_after_one_run_mb"] for c in cold)),
        "numpy_peak_rss_mb": round(max(c["peak_rss_mb"] for c in cold)),
        "numpy_process_loaded_torch": any(c["torch_loaded"] for c in cold),
        "first_step_http_ms": spread(http_ms, 1),
        "prompt_forward_ms": spread(forward_ms, 1),
        "rss_mb": {
            "after_load": round(rss_loaded),
            "after_one_run": round(rss_one_run),
            "at_end": round(rss_mb()),
            "peak": round(peak_rss_mb()),
        },
    }
    print()
    print(f"tokens                 {n} (same tokens as generate: {same}; first difference: {first_diff})")
    print(f"plain generate         {gen_min:8.2f} s   (median {statistics.median(gen_times):.2f})")
    print(
        f"ours                   {ours_min:8.2f} s   (median {statistics.median(our_times):.2f})   "
        f"x{results['ours_vs_generate']} of generate (within a repeat: x{results['ours_vs_generate_paired']})"
    )
    print(
        f"ours, a pass per token {min(single_times):8.2f} s   "
        f"(median {statistics.median(single_times):.2f}); ours ran {passes} forward passes for {n} "
        f"tokens, x{results['ours_vs_one_pass_per_token_paired']} of this within a repeat"
    )
    print(
        f"ours, drafting always  {min(drafted_times):8.2f} s   "
        f"(median {statistics.median(drafted_times):.2f}); {drafted_passes} passes, "
        f"x{results['drafting_vs_one_pass_per_token_paired']} of a pass per token within a repeat; "
        f"a drafted pass costs {results['draft_cost']} one-token passes (measured at load)"
    )
    print(
        f"numpy engine           {min(numpy_times):8.2f} s   (median {statistics.median(numpy_times):.2f})   "
        f"x{results['numpy_vs_ours_paired']} of ours within a repeat; same tokens as ours: "
        f"{results['numpy_same_tokens_as_ours']}"
    )
    cpu_ratio = results["ours_vs_generate_cpu"]
    print(f"CPU seconds            generate {min(gen_cpu):.2f}, ours {min(our_cpu):.2f}   x{cpu_ratio}")
    if openmav_s is not None:
        print(
            f"openmav StateFetcher   {openmav_s:8.2f} s   x{results['openmav_vs_generate']} of generate, "
            f"x{results['openmav_vs_ours']} of ours (x{results['openmav_vs_ours_around_it']} of our runs "
            f"right before and after it: {', '.join(f'{t:.2f} s' for t in bracket)})"
        )
    dt, db = results["ours_detail_seconds"], results["step_bytes_detail"]
    print(
        f"ours, every detail     {dt['min']:8.2f} s   (median {dt['median']:.2f}); "
        f"x{results['detail_vs_ours_paired']} of ours within a repeat; step bytes mean {db['mean']}, "
        f"median {db['median']}, max {db['max']}"
    )
    sb, tb = results["step_bytes_30_layers"], results["step_bytes_12_layer_cut"]
    print(f"step bytes, 30 layers  mean {sb['mean']}, median {sb['median']}, max {sb['max']}")
    print(
        f"step bytes, 12-layer   mean {tb['mean']}, median {tb['median']}, max {tb['max']}, "
        f"{tb['share_under_2000']:.0%} under 2,000"
    )
    if results["seed_step_bytes"]:
        ratio = results["seed_step_bytes"] / sb["mean"]
        print(f"seed format bytes/step {results['seed_step_bytes']:,} (x{ratio:,.0f} ours)")
    fs = results["first_step_http_ms"]
    pf = results["prompt_forward_ms"]
    print(
        f"first step over HTTP   {fs['min']} ms (median {fs['median']}); one forward of the prompt "
        f"{pf['min']} ms (median {pf['median']}): x{fs['median'] / pf['median']:.2f}"
    )
    rss = results["rss_mb"]
    print(
        f"RSS (MB)               {rss['after_load']} after load, {rss['after_one_run']} after one run "
        f"of ours, {rss['at_end']} at the end (after generate and openmav), peak {rss['peak']}"
    )
    print(
        f"numpy cold start       exec to first step {results['numpy_cold_start_s']} s, "
        f"{results['numpy_cold_start_cpu_s']['min']} CPU s (health "
        f"{results['numpy_exec_to_health_s']['min']} s); RSS after one run "
        f"{results['numpy_rss_mb_after_one_run']} MB, peak {results['numpy_peak_rss_mb']} MB; torch loaded: "
        f"{results['numpy_process_loaded_torch']}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
