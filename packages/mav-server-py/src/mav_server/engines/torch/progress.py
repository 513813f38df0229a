"""Loading progress from transformers' own loops: the GGUF de-quantizing loop and "Loading weights".

Both loops wrap their iterable in a tqdm bar, and the GGUF loop calls gguf-py's `dequantize` once per
tensor. While a thread loads a model inside `reporting(...)`, those bars become quiet iterables that
report to the load's `Progress` callback the share of work done (a checkpoint entry weighs one), and
`dequantize` goes through a large tensor in slices of rows, reporting the bytes of each (the bundled
model's embedding alone is over a quarter of its bytes); other threads keep the usual bars and calls.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from .. import Progress

GGUF_SHARE = 0.9
"""Part of a GGUF load spent de-quantizing (the rest puts the tensors into the model)."""
SLICES = 16
"""Row slices a large tensor is de-quantized in."""

_local = threading.local()
_installed = False
_install_lock = threading.Lock()


class _Phases:
    """Maps each bar's own progress into its slice of the whole load."""

    def __init__(self, progress: Progress, gguf: bool) -> None:
        self.progress = progress
        self.gguf_bytes = 0
        self.gguf_done = 0
        self.slices = (
            {"gguf": (0.0, GGUF_SHARE), "weights": (GGUF_SHARE, 1.0)} if gguf else {"weights": (0.0, 1.0)}
        )

    def report(self, phase: str, fraction: float) -> None:
        start, end = self.slices.get(phase, (0.0, 1.0))
        self.progress(start + (end - start) * fraction)


class _ReportingBar:
    """A stand-in for a tqdm bar over `iterable`: no terminal output, progress to the load instead."""

    def __init__(self, iterable: Iterable[Any], phase: str, phases: _Phases) -> None:
        self.items = list(iterable)
        self.phase = phase
        self.phases = phases

    def __iter__(self) -> Iterator[Any]:
        if self.phase == "gguf":  # `dequantize` reports these tensors' bytes as it converts them
            self.phases.gguf_bytes = sum(int(getattr(item, "n_bytes", 0)) for item in self.items)
            yield from self.items
            return
        for done, item in enumerate(self.items, start=1):
            yield item  # the loop body reads and converts this item before asking for the next
            self.phases.report(self.phase, done / len(self.items))

    def __len__(self) -> int:
        return len(self.items)

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None  # update, close, set_postfix...: nothing to draw


def _bar(phase: str, original: Any) -> Any:
    def make(*args: Any, **kwargs: Any) -> Any:
        phases: _Phases | None = getattr(_local, "phases", None)
        iterable = args[0] if args else kwargs.get("iterable")
        if phases is None or iterable is None:
            return original(*args, **kwargs)
        return _ReportingBar(iterable, phase, phases)

    return make


def _sliced(dequantize: Any) -> Any:
    def sliced(data: np.ndarray, qtype: Any) -> np.ndarray:
        phases: _Phases | None = getattr(_local, "phases", None)
        if phases is None or not phases.gguf_bytes:
            return dequantize(data, qtype)
        rows = data.shape[0] if data.ndim > 1 else 1
        step = -(-rows // SLICES)
        parts = []
        for start in range(0, rows, step):  # rows are quantized independently: slices give the same values
            part = data[start : start + step] if data.ndim > 1 else data
            parts.append(dequantize(part, qtype))
            phases.gguf_done += part.nbytes
            phases.report("gguf", min(phases.gguf_done / phases.gguf_bytes, 1.0))
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    return sliced


def _install() -> None:
    global _installed
    with _install_lock:
        if _installed:
            return
        import gguf
        from transformers import modeling_gguf_pytorch_utils
        from transformers.utils import logging

        gguf.dequantize = _sliced(gguf.dequantize)  # transformers imports it by name at each load
        modeling_gguf_pytorch_utils.tqdm = _bar("gguf", modeling_gguf_pytorch_utils.tqdm)
        previous = logging.set_tqdm_hook(None)

        def hook(factory: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            def default(*a: Any, **k: Any) -> Any:
                return previous(factory, a, k) if previous is not None else factory(*a, **k)

            return _bar("weights", default)(*args, **kwargs)

        logging.set_tqdm_hook(hook)
        _installed = True


@contextmanager
def reporting(progress: Progress, *, gguf: bool) -> Iterator[None]:
    """Within this block, this thread's model loading reports to `progress`."""
    _install()
    _local.phases = _Phases(progress, gguf)
    try:
        yield
    finally:
        _local.phases = None
