"""Benchmark of the numpy engine on the bundled SmolLM2-135M-Instruct (not a test).

Prints, for the same N greedy tokens (chosen by the torch lean decode, then fed to both):
- seconds per token, numpy decoder vs the torch engine's lean decoder, one forward pass per token;
- a fresh torch-free process: exec to the first step (imports, GGUF read, de-quantize, tokenize, prompt
  pass), with its parts;
- that process's resident memory after loading and after the N-token run, and its peak.

The numpy side always runs in fresh child processes without torch (as it runs in a function); repeats
alternate numpy and torch (at torch's default threads and at one thread), and the fastest is reported
with the median beside it.

    .venv/bin/python packages/mav-server-py/bench/bench_numpy.py [--tokens 256] [--repeats 3] [--json o.json]
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

PROMPT = "Once upon a time, in a small village by the sea,"
FIRST_STEP = "first-step"


def status_mb(field: str) -> float:
    """`VmRSS` (resident now) or `VmHWM` (its peak) from /proc: unlike `ru_maxrss`, the peak is this
    program's own, not the parent's it was forked from."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def child(tokens: list[int]) -> None:
    """The torch-free side: load, first step (reported as soon as it is done), then the fed tokens."""
    started = time.perf_counter()
    import numpy as np

    from mav_server.engines.numpy import GgufModel, NumpyDecoder
    from mav_server.models import find_bundled_gguf

    imported = time.perf_counter()
    model = GgufModel(find_bundled_gguf())
    opened = time.perf_counter()
    weights = model.load_weights()
    loaded = time.perf_counter()
    rss_loaded = status_mb("VmRSS")
    prompt = model.tokenizer.encode(PROMPT)
    decoder = NumpyDecoder(weights, capacity=len(prompt) + len(tokens))
    (out,) = decoder.forward(np.array(prompt))
    first = int(out.logits[0].argmax())
    stepped = time.perf_counter()
    print(FIRST_STEP, flush=True)
    token_start = time.perf_counter()
    for token in tokens:
        decoder.forward(np.array([token]))
    decode_s = time.perf_counter() - token_start
    print(
        json.dumps(
            {
                "import_s": imported - started,
                "open_s": opened - imported,
                "load_s": loaded - opened,
                "prompt_step_s": stepped - loaded,
                "first_token": first,
                "decode_s": decode_s,
                "rss_after_load_mb": rss_loaded,
                "rss_after_run_mb": status_mb("VmRSS"),
                "peak_rss_mb": status_mb("VmHWM"),
                "torch_imported": "torch" in sys.modules,
            }
        ),
        flush=True,
    )


def run_child(tokens: list[int]) -> dict[str, Any]:
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", json.dumps(tokens)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if line != FIRST_STEP:
        raise RuntimeError(f"the child process said {line!r} instead of {FIRST_STEP!r}")
    exec_to_first_step = time.perf_counter() - start
    result = json.loads(proc.stdout.readline())
    if proc.wait() != 0:
        raise RuntimeError(f"the child process exited with {proc.returncode}")
    return {"exec_to_first_step_s": exec_to_first_step, **result}


@functools.cache
def _torch_model() -> Any:
    from mav_server.config import BUNDLED_MODEL_ID
    from mav_server.models import ModelRegistry, source_for

    registry = ModelRegistry([source_for(BUNDLED_MODEL_ID)], engine="torch", device="cpu", dtype="float32")
    return registry.get(BUNDLED_MODEL_ID)


def torch_run(n: int, tokens: list[int] | None) -> tuple[float, list[int]]:
    """The torch engine's lean decode: greedy when `tokens` is None (choosing them), else `tokens` fed."""
    import numpy as np

    loaded = _torch_model()
    prompt = loaded.tokenizer.encode(PROMPT)
    decoder = loaded.decoder(len(prompt) + n + 1)
    assert type(decoder).__name__ == "LeanDecoder", "the bundled model should take the lean decode"
    chosen: list[int] = []
    (out,) = decoder.forward(np.array(prompt))
    start = time.perf_counter()
    for i in range(n):
        token = int(out.logits[0].argmax()) if tokens is None else tokens[i]
        chosen.append(token)
        (out,) = decoder.forward(np.array([token]))
    return time.perf_counter() - start, chosen


def spread(values: list[float], digits: int) -> dict[str, float]:
    return {
        "min": round(min(values), digits),
        "median": round(statistics.median(values), digits),
        "max": round(max(values), digits),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(json.loads(args.child))
        return

    import torch

    default_threads = torch.get_num_threads()
    _, tokens = torch_run(args.tokens, None)
    numpy_runs: list[dict[str, Any]] = []
    torch_s: dict[int, list[float]] = {default_threads: [], 1: []}
    for _ in range(args.repeats):
        numpy_runs.append(run_child(tokens))
        for threads, times in torch_s.items():
            torch.set_num_threads(threads)
            times.append(torch_run(args.tokens, tokens)[0])
    n = args.tokens
    numpy_ms = [r["decode_s"] / n * 1000 for r in numpy_runs]
    torch_ms = [s / n * 1000 for s in torch_s[default_threads]]
    torch_1_ms = [s / n * 1000 for s in torch_s[1]]
    fastest = min(numpy_runs, key=lambda r: r["exec_to_first_step_s"])
    result = {
        "tokens": n,
        "numpy_ms_per_token": spread(numpy_ms, 2),
        "torch_threads": default_threads,
        "torch_ms_per_token": spread(torch_ms, 2),
        "torch_1_thread_ms_per_token": spread(torch_1_ms, 2),
        "numpy_over_torch": round(min(numpy_ms) / min(torch_ms), 3),
        "numpy_over_torch_median": round(statistics.median(numpy_ms) / statistics.median(torch_ms), 3),
        "numpy_over_torch_1_thread": round(min(numpy_ms) / min(torch_1_ms), 3),
        "exec_to_first_step_s": spread([r["exec_to_first_step_s"] for r in numpy_runs], 3),
        "first_step_parts_s": {
            k: round(fastest[k], 3) for k in ("import_s", "open_s", "load_s", "prompt_step_s")
        },
        "rss_after_load_mb": round(max(r["rss_after_load_mb"] for r in numpy_runs)),
        "rss_after_run_mb": round(max(r["rss_after_run_mb"] for r in numpy_runs)),
        "peak_rss_mb": round(max(r["peak_rss_mb"] for r in numpy_runs)),
        "torch_imported_by_numpy_process": any(r["torch_imported"] for r in numpy_runs),
        "same_first_token": all(r["first_token"] == tokens[0] for r in numpy_runs),
    }
    r = result
    print(f"numpy engine, SmolLM2-135M-Instruct Q4_1, {n} tokens, {args.repeats} repeats")
    print(f"  ms per token, numpy      {r['numpy_ms_per_token']}")
    print(f"  ms per token, torch lean {r['torch_ms_per_token']} ({default_threads} threads)")
    print(f"  ms per token, torch lean {r['torch_1_thread_ms_per_token']} (1 thread)")
    print(
        f"  numpy / torch            {r['numpy_over_torch']} fastest, {r['numpy_over_torch_median']} median"
    )
    print(f"  numpy / torch 1 thread   {r['numpy_over_torch_1_thread']} fastest")
    print(f"  exec to first step, s    {r['exec_to_first_step_s']}; fastest: {r['first_step_parts_s']}")
    print(
        f"  RSS MB (no torch)        {r['rss_after_load_mb']} loaded, {r['rss_after_run_mb']} after the run"
    )
    print(f"  peak RSS MB              {r['peak_rss_mb']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
