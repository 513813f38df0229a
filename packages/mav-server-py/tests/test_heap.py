"""Loaded models are frozen out of the garbage collector; an unloaded one is collected, cycles too."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from mav_server import heap
from mav_server.engines import ModelSource
from mav_server.models import ModelRegistry

from .tiny_gguf import write_tiny_llama


class Node:
    """An object in a reference cycle: only the cycle collector frees it."""

    def __init__(self) -> None:
        self.me = self


def test_a_loaded_model_is_frozen_and_an_unloaded_one_collected(tmp_path: Path) -> None:
    sources = [ModelSource(name, name, gguf=write_tiny_llama(tmp_path / f"{name}.gguf")) for name in "ab"]
    registry = ModelRegistry(sources, engine="numpy", device="cpu", max_loaded=1)
    try:
        first = registry.get("a")
        # Frozen: full collections no longer walk the model's objects.
        assert not any(obj is first for obj in gc.get_objects())
        cycle = Node()
        first.cycle = cycle  # type: ignore[attr-defined]  # held by the model alone once `cycle` goes
        heap.freeze_loaded()
        model, node = weakref.ref(first), weakref.ref(cycle)
        del first, cycle
        gc.collect()
        assert node() is not None, "frozen, the cycle outlives a full collection"

        second = registry.get("b")  # drops a (the cache holds one)
        assert model() is None and node() is None, "the unloaded model was not collected"
        assert not any(obj is second for obj in gc.get_objects())
    finally:
        gc.unfreeze()
