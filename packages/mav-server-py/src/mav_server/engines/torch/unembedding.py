"""The logit lens's matrix product on the CPU, through oneDNN.

The lens puts ~30 hidden states through the unembedding at every step: the largest product a detail
run makes. oneDNN chooses its fp32 kernels by the CPU's instruction sets, where torch's default (MKL)
was markedly slower on AMD CPUs. oneDNN reads its own copy of the weight, packed on first use.
"""

from __future__ import annotations

import threading

import torch


class PackedHead:
    """An unembedding weight (vocab, hidden) as oneDNN reads it; `is_current` until the weight changes."""

    def __init__(self, weight: torch.Tensor) -> None:
        self.weight = weight
        self.stamp = (weight.data_ptr(), weight._version)
        self.packed = weight.detach().to_mkldnn()

    def is_current(self, weight: torch.Tensor) -> bool:
        return weight is self.weight and (weight.data_ptr(), weight._version) == self.stamp

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """(rows, hidden) dense float32 -> (rows, vocab) dense float32."""
        return torch.ops.aten.mkldnn_linear(x.contiguous().to_mkldnn(), self.packed).to_dense()


def packable(head: torch.nn.Module, device: torch.device) -> bool:
    weight = getattr(head, "weight", None)
    return (
        device.type == "cpu"
        and isinstance(head, torch.nn.Linear)
        and head.bias is None
        and isinstance(weight, torch.Tensor)
        and weight.dtype == torch.float32
        and torch.backends.mkldnn.is_available()
    )


class Unembedding:
    """One model's lens product: `head(x)`, through a `PackedHead` kept while the weight stays."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._packed: PackedHead | None = None

    def __call__(self, head: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
        if not packable(head, x.device):
            return head(x)
        with self._lock:
            if self._packed is None or not self._packed.is_current(head.weight):
                self._packed = PackedHead(head.weight)
            packed = self._packed
        return packed(x)
