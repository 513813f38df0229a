"""The logit lens's oneDNN product gives torch's own numbers, and follows the weight when it changes."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from mav_server.engines.torch.unembedding import PackedHead, Unembedding, packable  # noqa: E402

pytestmark = pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="torch without oneDNN")


def test_the_packed_product_is_the_linear_layers() -> None:
    generator = torch.Generator().manual_seed(0)
    head = torch.nn.Linear(64, 500, bias=False)
    # As the lean decode lays it out: the parameter is an (out, in) view of an (in, out) tensor.
    head.weight = torch.nn.Parameter(torch.randn(64, 500, generator=generator).t(), requires_grad=False)
    x = torch.randn(7, 64, generator=generator)
    assert packable(head, torch.device("cpu"))
    packed = PackedHead(head.weight)
    torch.testing.assert_close(packed(x), head(x), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(packed(x[::2]), head(x[::2]), rtol=1e-5, atol=1e-5)  # rows not contiguous
    assert packed.is_current(head.weight)
    with torch.no_grad():
        head.weight.mul_(2)
    assert not packed.is_current(head.weight)
    torch.testing.assert_close(PackedHead(head.weight)(x), head(x), rtol=1e-5, atol=1e-5)


def test_only_a_float32_bias_free_linear_on_the_cpu_is_packed() -> None:
    cpu = torch.device("cpu")
    assert not packable(torch.nn.Linear(4, 8), cpu)  # a bias
    assert not packable(torch.nn.Linear(4, 8, bias=False).to(torch.bfloat16), cpu)
    assert not packable(torch.nn.Linear(4, 8, bias=False), torch.device("meta"))
    assert not packable(torch.nn.Embedding(8, 4), cpu)


def test_a_models_unembedding_packs_once_and_again_when_the_weight_changes() -> None:
    head, x = torch.nn.Linear(16, 40, bias=False), torch.randn(3, 16)
    unembedding = Unembedding()
    torch.testing.assert_close(unembedding(head, x), head(x), rtol=1e-5, atol=1e-5)
    packed = unembedding._packed
    unembedding(head, x)
    assert unembedding._packed is packed
    head.weight = torch.nn.Parameter(torch.randn(40, 16))
    torch.testing.assert_close(unembedding(head, x), head(x), rtol=1e-5, atol=1e-5)
    assert unembedding._packed is not packed
    biased = torch.nn.Linear(16, 40)
    torch.testing.assert_close(unembedding(biased, x), biased(x))  # torch's own product
