"""How many threads the torch engine's CPU passes use, chosen per machine when a model loads.

A one-token pass of a small model is hundreds of small matmuls: split over several threads, each one
waits for the others, which costs more than it saves on few cores, and far more when other processes
hold them. So the engine times a one-token pass with torch's threads and with one, and keeps the faster
(paired passes, as `drafting.measure_draft_cost` pairs them). `OMP_NUM_THREADS` set by hand wins.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch

from .. import Decoder

log = logging.getLogger("mav_server.engines.torch")


def one_token_seconds(decoder: Decoder, ids: np.ndarray, context: int) -> float:
    start = time.perf_counter()
    decoder.forward(ids[context : context + 1])
    seconds = time.perf_counter() - start
    decoder.rewind(context)
    return seconds


def choose_threads(decoder: Decoder, vocab_size: int, context: int = 32, pairs: int = 5) -> int:
    """Sets torch's intra-op threads to the faster of its own count and one; returns the count kept."""
    threads = torch.get_num_threads()
    if threads == 1 or os.environ.get("OMP_NUM_THREADS"):
        return threads
    ids = (np.arange(context + 1, dtype=np.int64) * 7919) % vocab_size
    ratios = []
    try:
        decoder.forward(ids[:context])
        for pair in range(pairs + 1):
            seconds = {}
            for count in (threads, 1) if pair % 2 else (1, threads):
                torch.set_num_threads(count)
                seconds[count] = one_token_seconds(decoder, ids, context)
            if pair > 0:
                ratios.append(seconds[1] / seconds[threads])
    finally:
        torch.set_num_threads(threads)
    ratio = float(np.median(ratios))
    chosen = 1 if ratio < 1 else threads
    torch.set_num_threads(chosen)
    log.info("a one-token pass on 1 thread takes %.2fx its time on %d: %d kept", ratio, threads, chosen)
    return chosen


def use_threads(count: int) -> None:
    """This thread's torch ops use `count` threads. (`torch.set_num_threads` also sets the count that a
    thread's first torch op adopts, so every run sets its own rather than inherit another run's.)"""
    if torch.get_num_threads() != count:
        torch.set_num_threads(count)


@contextmanager
def split(threads: int) -> Iterator[Callable[[], None]]:
    """Half of `threads` (at least one) for this thread's forward passes, the rest (at least one) for the
    worker whose initializer this yields: two pools each the machine's size would oversubscribe it, and
    every pool barrier would then wait for a time slice."""
    forward = max(1, threads // 2)
    use_threads(forward)
    try:
        yield lambda: use_threads(max(1, threads - forward))
    finally:
        use_threads(threads)
