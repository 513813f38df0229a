"""Loaded models out of the garbage collector's sight.

A loaded model is hundreds of thousands of long-lived Python objects (modules, parameters, tokenizer
tables). Every full collection walks them all, about 0.3 s on the bundled model, and a run that makes
many objects (a detail step makes hundreds of lists) sets one off every hundred or so steps, mid-stream.
After a load they are frozen (`gc.freeze`); an unload thaws everything once, so what the model leaves in
cycles is collected, then freezes what remains.
"""

from __future__ import annotations

import atexit
import gc
import threading

_lock = threading.Lock()
# Thawed at exit: the interpreter's last collections then free them, as extension modules expect
# (triton's bindings otherwise report "leaked" objects on the way out).
atexit.register(gc.unfreeze)


def freeze_loaded() -> None:
    """After a model load: collect what the load left, then freeze every object still alive."""
    with _lock:
        gc.collect()
        gc.freeze()


def thaw_unloaded() -> None:
    """After a model is dropped: collect its objects (cycles included) and freeze the rest again."""
    with _lock:
        gc.unfreeze()
        gc.collect()
        gc.freeze()
