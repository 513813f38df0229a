"""The torch engine keeps the faster of torch's thread count and one for its CPU passes."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mav_server.engines.torch.threads import choose_threads, split  # noqa: E402


class TimedDecoder:
    """A decoder whose one-token pass takes `seconds[threads]` for torch's thread count at the time."""

    def __init__(self, seconds: dict[int, float]) -> None:
        self.seconds = seconds
        self.length = 0

    def forward(self, token_ids: np.ndarray, keep: int = 1) -> list:
        if token_ids.shape[0] == 1:
            time.sleep(self.seconds[torch.get_num_threads()])
        self.length += token_ids.shape[0]
        return []

    def rewind(self, length: int) -> None:
        self.length = length


@pytest.fixture
def two_threads(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_keeps_one_thread_when_it_is_faster(two_threads: None) -> None:
    assert choose_threads(TimedDecoder({1: 0.002, 2: 0.02}), vocab_size=100, pairs=3) == 1
    assert torch.get_num_threads() == 1


def test_keeps_torchs_threads_when_they_are_faster(two_threads: None) -> None:
    assert choose_threads(TimedDecoder({1: 0.02, 2: 0.002}), vocab_size=100, pairs=3) == 2
    assert torch.get_num_threads() == 2


def test_omp_num_threads_set_by_hand_wins(two_threads: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert choose_threads(TimedDecoder({1: 0.002, 2: 0.02}), vocab_size=100) == 2
    assert torch.get_num_threads() == 2


class FailingDecoder(TimedDecoder):
    def forward(self, token_ids: np.ndarray, keep: int = 1) -> list:
        raise RuntimeError("a broken forward pass")


def test_a_failing_pass_leaves_torchs_threads(two_threads: None) -> None:
    with pytest.raises(RuntimeError):
        choose_threads(FailingDecoder({}), vocab_size=100)
    assert torch.get_num_threads() == 2


def test_a_split_gives_the_passes_and_the_worker_a_share_each(two_threads) -> None:
    seen: dict[str, int] = {}

    def worker(init) -> None:
        init()
        seen["worker"] = torch.get_num_threads()

    for threads, shares in ((3, (1, 2)), (4, (2, 2)), (2, (1, 1)), (1, (1, 1))):
        with split(threads) as init:
            seen["passes"] = torch.get_num_threads()
            thread = threading.Thread(target=worker, args=(init,))
            thread.start()
            thread.join()
            assert (seen["passes"], seen["worker"]) == shares
            assert torch.get_num_threads() == shares[0]  # the worker's count is its own
        assert torch.get_num_threads() == threads
