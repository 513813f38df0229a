"""Engines: the core runs without torch, `--engine` picks per model, and a model an engine cannot run is
refused before any stream with the reason, while the server goes on serving the others."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import subprocess
import sys
import textwrap
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from mav_server import engines
from mav_server.config import ConfigError, Settings, settings_from_env
from mav_server.engines import ModelSource
from mav_server.models import ModelRegistry, source_for

from .tiny import TINY_GPT2_ID, build_tiny_gpt2, tiny_gpt2_source
from .tiny_gguf import FF, HIDDEN, Q, tensors, write_tiny_llama

TORCH_FREE = textwrap.dedent(
    """
    import sys

    class NoTorch:
        # Makes torch and everything built on it unimportable, as when mav-server has no extras.
        blocked = ("torch", "transformers", "accelerate", "openmav")

        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in self.blocked:
                raise ImportError(f"{name} is blocked in this test")
            return None

    sys.meta_path.insert(0, NoTorch())

    from starlette.testclient import TestClient

    from mav_server import cli, drafting, generation, metrics, runs, sampling, sse, wire
    from mav_server.app import create_app
    from mav_server.config import Settings
    from mav_server.engines import available

    assert not available("torch")
    app = create_app(Settings(models=("smollm2-135m-instruct",), max_concurrent_runs=1))
    with TestClient(app) as client:
        assert client.get("/api/health").json()["status"] == "ok"
        if available("numpy"):
            run = client.post("/api/run", json={"prompt": "Hi", "max_new_tokens": 2})
            assert run.status_code == 200 and "event: step" in run.text, run.text[-300:]
            models = client.get("/api/models").json()["models"]
            assert models[0]["engine"] == "numpy", models
            print("served by numpy")
        else:
            run = client.post("/api/run", json={"prompt": "Hi", "max_new_tokens": 2})
            assert run.status_code == 503, run.text
            assert "mav-server[torch]" in run.json()["error"]["message"], run.text
            print("refused: no engine")
    assert not [m for m in sys.modules if m.split(".")[0] in NoTorch.blocked]
    """
)


def test_the_core_runs_without_torch() -> None:
    """The app, protocol, SSE, runs, sampling, metrics, wire and drafting import no torch: with torch
    unimportable the server starts, answers, and serves the bundled model when the numpy engine is
    there (or names the extra to install when it is not)."""
    result = subprocess.run(
        [sys.executable, "-c", TORCH_FREE], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # Once the numpy engine's math is in the package, its engine must serve the bundled model.
    numpy_math = importlib.util.find_spec("mav_server.engines.numpy.decoder") is not None
    assert result.stdout.strip() == ("served by numpy" if numpy_math else "refused: no engine")


TORCH_STACK = {"torch", "transformers", "accelerate", "openmav"}


def test_mav_server_without_extras_installs_no_torch() -> None:
    """`pip install mav-server` (no extras): neither its dependencies nor theirs, as installed here,
    require torch or anything built on it; only the `torch` extra brings them."""
    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    project = pyproject["project"]
    assert set(map(requirement_name, project["optional-dependencies"]["torch"])) == TORCH_STACK
    seen: set[str] = set()
    todo = [requirement_name(r) for r in project["dependencies"]]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for text in importlib.metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement_name(text))
    assert {"numpy", "gguf", "tokenizers", "fastapi"} <= seen
    assert not seen & TORCH_STACK, sorted(seen & TORCH_STACK)


def requirement_name(requirement: str) -> str:
    return canonicalize_name(Requirement(requirement).name)


def test_engine_setting() -> None:
    assert settings_from_env({}).engine == "auto"
    assert settings_from_env({"MAV_ENGINE": "torch"}).engine == "torch"
    with pytest.raises(ConfigError, match="engine must be one of auto, torch, numpy"):
        settings_from_env({"MAV_ENGINE": "jax"})
    with pytest.raises(ConfigError, match="numpy engine runs on the CPU"):
        Settings(engine="numpy", device="cuda").validate()


def test_auto_picks_an_engine_per_model(monkeypatch: Any) -> None:
    gguf = source_for("/models/x.gguf")
    pretrained = source_for("org/model")
    monkeypatch.setattr(engines, "available", lambda name: True)
    monkeypatch.setattr(engines, "_has_gpu", lambda: False)
    assert engines.candidates(gguf, "auto", "auto") == ["numpy", "torch"]
    assert engines.candidates(pretrained, "auto", "auto") == ["torch"]
    assert engines.candidates(gguf, "auto", "cuda") == ["torch", "numpy"]
    assert engines.candidates(gguf, "torch", "auto") == ["torch"]
    monkeypatch.setattr(engines, "_has_gpu", lambda: True)
    assert engines.candidates(gguf, "auto", "auto") == ["torch", "numpy"]
    monkeypatch.setattr(engines, "available", lambda name: name == "numpy")
    assert engines.candidates(gguf, "auto", "auto") == ["numpy"]
    monkeypatch.setattr(engines, "available", lambda name: name == "torch")
    assert engines.candidates(gguf, "auto", "cpu") == ["torch"]


def test_loading_reports_the_share_of_weights_converted(smol_loading: Any) -> None:
    """The torch engine reports progress from transformers' own GGUF and weight loading loops, at least
    every 10%, without drawing their terminal bars."""
    _, fractions = smol_loading
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    steps = np.diff([0.0, *fractions])
    assert len(fractions) >= 10 and steps.max() <= 0.1, fractions


def test_a_load_in_progress_reports_to_every_run_waiting() -> None:
    def slow_build() -> Any:
        time.sleep(0.5)
        return build_tiny_gpt2()

    registry = ModelRegistry([ModelSource("slow", "Slow", build=slow_build)], device="cpu")
    heard: dict[str, list[float]] = {"first": [], "second": []}
    threads = [threading.Thread(target=registry.get, args=("slow", heard[name].append)) for name in heard]
    for thread in threads:
        thread.start()
        time.sleep(0.1)
    for thread in threads:
        thread.join(timeout=60)
    assert heard["first"][-1] == heard["second"][-1] == 1.0, heard
    assert registry.loaded_ids() == ["slow"]


def test_load_progress_becomes_status_events_every_5_percent() -> None:
    from mav_server.runs import LoadReport

    events: list[Any] = []
    report = LoadReport(events.append, "Tiny")
    for fraction in (0.0, 0.01, 0.05, 0.3, 0.31, 0.99, 1.0):
        report(fraction)
    assert [e.progress for e in events] == [0.0, 0.05, 0.3, 0.99]
    assert {e.message for e in events} == {"Loading Tiny"} and {e.phase for e in events} == {"loading_model"}


def test_models_and_meta_name_the_engine(tiny_registry: Any) -> None:
    infos = {info.id: info for info in tiny_registry.infos()}
    assert infos[TINY_GPT2_ID].engine == "torch"
    assert tiny_registry.card(TINY_GPT2_ID).meta().engine == "torch"


# --- hand-made GGUF files an engine cannot run ----------------------------------------------------


def write_gguf(path: Path, architecture: str = "llama", quant: Any = None) -> Path:
    """A small GGUF written with gguf-py: a header, a few settings and two tensors."""
    import gguf

    writer = gguf.GGUFWriter(path, architecture)
    writer.add_block_count(1)
    writer.add_context_length(64)
    writer.add_embedding_length(8)
    writer.add_head_count(2)
    writer.add_tensor("token_embd.weight", np.ones((16, 8), dtype=np.float32))
    if quant is None:
        writer.add_tensor("output_norm.weight", np.ones(8, dtype=np.float32))
    else:  # one block of raw bytes of another type
        block_bytes = gguf.GGML_QUANT_SIZES[quant][1]
        writer.add_tensor("output_norm.weight", np.zeros((1, block_bytes), dtype=np.uint8), raw_dtype=quant)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def bad_ggufs(folder: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, words the refusal must contain)."""
    import gguf

    whole = write_gguf(folder / "whole.gguf")
    truncated = folder / "truncated.gguf"
    truncated.write_bytes(whole.read_bytes()[:-40])
    corrupt = folder / "corrupt.gguf"
    corrupt.write_bytes(b"GGUF" + bytes(range(256)) * 2)
    return {
        "truncated": (truncated, "corrupt or truncated"),
        "corrupt": (corrupt, "corrupt or truncated"),
        "quantisation": (
            write_gguf(folder / "q8_1.gguf", quant=gguf.GGMLQuantizationType.Q8_1),
            "Q8_1, which gguf-py cannot de-quantize",
        ),
        "architecture": (write_gguf(folder / "arch.gguf", architecture="qwertyformer"), "qwertyformer"),
    }


def test_models_an_engine_cannot_run_are_refused_with_the_reason(
    tmp_path: Path, serve: Any, validate: Any
) -> None:
    bad = bad_ggufs(tmp_path)
    sources = [tiny_gpt2_source()] + [ModelSource(name, name, gguf=path) for name, (path, _) in bad.items()]
    registry = ModelRegistry(sources, device="cpu", max_loaded=2)
    server = serve(Settings(max_concurrent_runs=1), registry)
    listed = httpx.get(f"{server.url}/api/models", timeout=60).json()
    validate("models_response", listed)
    assert [m["id"] for m in listed["models"]] == [TINY_GPT2_ID]  # the others cannot be described
    for name, (_, words) in bad.items():
        response = httpx.post(
            f"{server.url}/api/run", json={"model": name, "prompt": "Hi", "max_new_tokens": 2}, timeout=60
        )
        assert response.status_code == 503, (name, response.text)
        validate("error_body", response.json())
        error = response.json()["error"]
        assert error["code"] == "unsupported_model", error
        assert words in error["message"] and repr(name) in error["message"], error
    ok = httpx.post(
        f"{server.url}/api/run", json={"model": TINY_GPT2_ID, "prompt": "Hi", "max_new_tokens": 2}, timeout=60
    )
    assert ok.status_code == 200 and "event: done" in ok.text


def test_the_numpy_engine_refuses_a_model_over_http_and_keeps_serving(
    tmp_path: Path, serve: Any, validate: Any
) -> None:
    """With `--engine numpy`: rope scaling it does not implement, a quantisation gguf-py cannot read, an
    unknown architecture and a truncated file are each a 503 naming the reason; a good GGUF still streams."""
    import gguf

    good = write_tiny_llama(tmp_path / "good.gguf")
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(good.read_bytes()[:-100])
    q8_1 = tensors() | {
        "blk.1.ffn_up.weight": (
            np.zeros((FF, HIDDEN // 32 * gguf.GGML_QUANT_SIZES[Q.Q8_1][1]), np.uint8),
            Q.Q8_1,
        )
    }
    bad = {
        "yarn": (
            write_tiny_llama(tmp_path / "yarn.gguf", settings={"llama.rope.scaling.type": "yarn"}),
            "rope scaling 'yarn'",
        ),
        "q8_1": (write_tiny_llama(tmp_path / "q8_1.gguf", weights=q8_1), "Q8_1"),
        "gpt2": (write_tiny_llama(tmp_path / "gpt2.gguf", arch="gpt2"), "architecture 'gpt2'"),
        "truncated": (truncated, "truncated"),
    }
    sources = [ModelSource("good", "Good", gguf=good)] + [
        ModelSource(name, name, gguf=path) for name, (path, _) in bad.items()
    ]
    registry = ModelRegistry(sources, engine="numpy", device="cpu")
    server = serve(Settings(max_concurrent_runs=1, engine="numpy"), registry)
    listed = httpx.get(f"{server.url}/api/models", timeout=60).json()
    assert [(m["id"], m["engine"]) for m in listed["models"]] == [("good", "numpy")]
    for name, (_, words) in bad.items():
        response = httpx.post(
            f"{server.url}/api/run", json={"model": name, "prompt": "Hi", "max_new_tokens": 2}, timeout=60
        )
        assert response.status_code == 503, (name, response.text)
        validate("error_body", response.json())
        error = response.json()["error"]
        assert error["code"] == "unsupported_model" and words in error["message"], error
    ok = httpx.post(
        f"{server.url}/api/run", json={"model": "good", "prompt": "Hi", "max_new_tokens": 2}, timeout=60
    )
    assert ok.status_code == 200 and "event: done" in ok.text, ok.text[-300:]
