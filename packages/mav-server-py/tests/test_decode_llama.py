"""The lean Llama forward (`decode_llama`) gives the transformers eager forward's numbers and tokens."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from openmav.converters.data_converter import DataConverter
from transformers import DynamicCache, LlamaConfig, LlamaForCausalLM

from mav_server import drafting, metrics
from mav_server.engines import torch as torch_engine
from mav_server.engines.torch import TorchModel
from mav_server.engines.torch.decode_llama import (
    LlamaDecoder,
    LlamaWeights,
    rms_norm,
    scalar,
    unsupported_reason,
)
from mav_server.generation import iter_steps
from mav_server.protocol import EffectiveRequest
from mav_server.sampling import Sampler

from .tiny import TINY_GPT2_ID

RTOL = 1e-4
CPU = torch.device("cpu")


def tiny_llama(tied: bool, **overrides: Any) -> Any:
    """A randomly initialised Llama with grouped-query attention (4 query heads over 2 kv heads)."""
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=128,
        hidden_size=64,
        intermediate_size=96,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        rms_norm_eps=1e-5,
        tie_word_embeddings=tied,
        **overrides,
    )
    model = LlamaForCausalLM(config).eval()
    model.set_attn_implementation("eager")
    return model


def loaded_of(model: Any, draft_cost: float | None = None) -> TorchModel:
    """What `iter_steps` reads of a loaded model (no tokenizer, card or openmav backend needed)."""
    return TorchModel(
        card=None,  # type: ignore[arg-type]
        tokenizer=None,  # type: ignore[arg-type]
        eos_ids=frozenset(),
        model=model,
        device=CPU,
        backend=None,
        draft_cost=draft_cost,
    )


def newest_hidden_states(hidden_states: Any) -> torch.Tensor:
    """(layers + 1, hidden): the newest position of each of HF's `hidden_states` (batch 1)."""
    return torch.stack([layer[0, -1] for layer in hidden_states])


def newest_attention_rows(attentions: Any) -> torch.Tensor:
    """(layers, heads, length): the newest position's attention row of each of HF's `attentions`."""
    return torch.stack([layer[0, :, -1] for layer in attentions])


def relative_error(ours: torch.Tensor, theirs: torch.Tensor) -> float:
    return float((ours - theirs).abs().max() / theirs.abs().max())


def compare_greedy(model: Any, prompt: list[int], steps: int) -> None:
    """Feed the same greedy tokens through both forwards and compare every output the engine reads."""
    decoder = LlamaDecoder(LlamaWeights(model), capacity=len(prompt) + steps)
    cache = DynamicCache(config=model.config)
    feed = list(prompt)
    with torch.inference_mode():
        for step in range(steps):
            theirs = model(
                torch.tensor([feed]),
                past_key_values=cache,
                use_cache=True,
                output_hidden_states=True,
                output_attentions=True,
            )
            (ours,) = decoder.forward(torch.tensor(feed))
            hidden = newest_hidden_states(theirs.hidden_states)
            rows = newest_attention_rows(theirs.attentions)
            assert ours.logits.shape == theirs.logits[:, -1].shape
            assert ours.hidden_states.shape == hidden.shape and ours.attentions.shape == rows.shape
            assert relative_error(ours.logits, theirs.logits[:, -1]) < RTOL, step
            assert relative_error(ours.hidden_states, hidden) < RTOL, step
            assert relative_error(ours.attentions, rows) < RTOL, step
            np.testing.assert_allclose(
                metrics.layer_activations(ours.hidden_states.numpy(), "l2"),
                metrics.layer_activations(hidden.numpy(), "l2"),
                rtol=RTOL,
            )
            np.testing.assert_allclose(
                metrics.attention_entropies(ours.attentions.numpy()),
                metrics.attention_entropies(rows.numpy()),
                rtol=RTOL,
                atol=1e-6,
            )
            token = int(theirs.logits[0, -1].argmax())
            assert int(ours.logits[0].argmax()) == token, step
            feed = [token]


@pytest.mark.parametrize("tied", [True, False])
def test_tiny_llama_matches_the_transformers_forward(tied: bool) -> None:
    model = tiny_llama(tied)
    assert (model.lm_head.weight is model.model.embed_tokens.weight) == tied
    assert unsupported_reason(model, CPU) is None
    compare_greedy(model, [5, 17, 3, 99, 42, 8], steps=20)


def test_bundled_model_matches_the_transformers_forward(smol: Any) -> None:
    assert unsupported_reason(smol.model, smol.device) is None
    prompt = smol.tokenizer.encode("Once upon a time, in a small village by the sea,")
    compare_greedy(smol.model, prompt, steps=20)


def test_greedy_tokens_equal_generate_through_iter_steps() -> None:
    model = tiny_llama(tied=False)
    loaded = loaded_of(model)
    prompt = [1, 2, 3, 4]
    request = EffectiveRequest(model="tiny-llama", prompt="x", max_new_tokens=20)
    ours = [s.token_id for s in iter_steps(loaded, prompt, Sampler(request), "l2", 20)]
    assert loaded.lean_weights is not None  # the lean path ran
    with torch.inference_mode():
        out = model.generate(torch.tensor([prompt]), max_new_tokens=20, min_new_tokens=20, do_sample=False)
    assert ours == out[0, len(prompt) :].tolist()


def test_a_long_prompt_in_chunks_gives_the_same_steps(monkeypatch: Any) -> None:
    model = tiny_llama(tied=True)
    prompt = [(7 * i) % 120 + 1 for i in range(23)]
    request = EffectiveRequest(model="tiny-llama", prompt="x", max_new_tokens=6)

    def run() -> list[Any]:
        return list(iter_steps(loaded_of(model), prompt, Sampler(request), "l2", 6))

    whole = run()
    monkeypatch.setattr(drafting, "PROMPT_CHUNK", 5)
    passes: list[int] = []
    forward = LlamaDecoder.forward

    def counting(self: LlamaDecoder, token_ids: torch.Tensor, keep: int = 1) -> Any:
        passes.append(int(token_ids.shape[0]))
        return forward(self, token_ids, keep)

    monkeypatch.setattr(LlamaDecoder, "forward", counting)
    chunked = run()
    assert passes[:5] == [5, 5, 5, 5, 3]  # the 23-token prompt in chunks, then one token per step
    assert [s.token_id for s in chunked] == [s.token_id for s in whole]
    for ours, theirs in zip(chunked, whole, strict=True):
        assert relative_error(torch.from_numpy(ours.logits), torch.from_numpy(theirs.logits)) < RTOL
        np.testing.assert_allclose(ours.activations, theirs.activations, rtol=RTOL)
        np.testing.assert_allclose(ours.attention_entropy, theirs.attention_entropy, rtol=RTOL, atol=1e-6)


def test_rms_norm_is_llama_s_value_for_value() -> None:
    from transformers.models.llama.modeling_llama import LlamaRMSNorm

    torch.manual_seed(1)
    norm = LlamaRMSNorm(576, eps=1e-5)
    with torch.no_grad():
        norm.weight.normal_()
    for scale in (1e-3, 1.0, 40.0):
        x = torch.randn(7, 576) * scale
        with torch.inference_mode():
            assert torch.equal(rms_norm(x, norm.weight, scalar(1e-5), scalar(576)), norm(x))


def test_fusing_keeps_the_model_s_own_forward_and_shares_memory() -> None:
    model = tiny_llama(tied=True)
    ids = torch.tensor([[3, 1, 4, 1, 5, 9, 2, 6]])
    with torch.inference_mode():
        before = model(ids).logits
    weights = LlamaWeights(model)
    layer = model.model.layers[0]
    assert layer.self_attn.k_proj.weight.data_ptr() == weights.layers[0].qkv_t[:, 64:96].data_ptr()
    with torch.inference_mode():
        after = model(ids).logits
    assert torch.equal(before, after)
    assert weights.is_current()
    layer.mlp.up_proj.weight.data = layer.mlp.up_proj.weight.data.clone()  # e.g. weights reloaded
    assert not weights.is_current()
    loaded = loaded_of(model)
    loaded.decoder(8)
    first = loaded.lean_weights
    assert first is not None and first.is_current()
    loaded.decoder(8)
    assert loaded.lean_weights is first


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"attention_bias": True}, "bias"),
        ({"mlp_bias": True}, "bias"),
        ({"hidden_act": "gelu"}, "activation"),
        ({"rope_parameters": {"rope_type": "linear", "factor": 2.0, "rope_theta": 10000.0}}, "rope"),
    ],
)
def test_unverified_configs_take_the_transformers_forward(overrides: dict[str, Any], reason: str) -> None:
    model = tiny_llama(tied=True, **overrides)
    assert reason in (unsupported_reason(model, CPU) or "")
    assert loaded_of(model).decode_path().startswith("transformers forward")


def test_other_conditions_take_the_transformers_forward(tiny_registry: Any) -> None:
    assert "GPT2LMHeadModel" in (unsupported_reason(tiny_registry.get(TINY_GPT2_ID).model, CPU) or "")
    model = tiny_llama(tied=True)
    with torch.inference_mode():  # installs transformers' own output-capturing hooks, which do not count
        model(torch.tensor([[1, 2]]), output_hidden_states=True, output_attentions=True)
    assert unsupported_reason(model, CPU) is None
    assert "device" in (unsupported_reason(model, torch.device("cuda")) or "")
    handle = model.model.layers[1].mlp.register_forward_hook(lambda *args: None)
    assert "hooks" in (unsupported_reason(model, CPU) or "")
    handle.remove()
    mlp = model.model.layers[0].mlp
    mlp.forward = mlp.forward  # a per-instance forward, as accelerate's offloading installs
    assert "own forward" in (unsupported_reason(model, CPU) or "")
    del mlp.forward

    class QuantisedLinear(torch.nn.Linear):
        pass

    original = mlp.down_proj
    mlp.down_proj = QuantisedLinear(original.in_features, original.out_features, bias=False)
    assert "QuantisedLinear" in (unsupported_reason(model, CPU) or "")
    mlp.down_proj = original
    assert unsupported_reason(model, CPU) is None
    model.set_attn_implementation("sdpa")
    assert "eager" in (unsupported_reason(model, CPU) or "")
    model.set_attn_implementation("eager")
    assert "float32" in (unsupported_reason(model.to(torch.bfloat16), CPU) or "")


def test_bundled_model_takes_the_lean_path(smol: Any, monkeypatch: Any) -> None:
    def hf_decoder(*args: Any) -> Any:
        raise AssertionError("the bundled model should not take the transformers forward")

    monkeypatch.setattr(torch_engine, "HFDecoder", hf_decoder)
    assert smol.decode_path().startswith("lean Llama decode")
    request = EffectiveRequest(model=smol.card.id, prompt="x", max_new_tokens=2)
    assert len(list(iter_steps(smol, [1, 2, 3], Sampler(request), "l2", 2))) == 2


def test_batched_metrics_equal_openmav() -> None:
    """One op over all layers gives DataConverter's per-layer numbers."""
    torch.manual_seed(1)
    hidden = [torch.randn(1, 3, 16) * 4 for _ in range(5)]
    attentions = [torch.softmax(torch.randn(1, 6, 3, 7) * 3, dim=-1) for _ in range(4)]
    for aggregation in ("l2", "max_abs"):
        np.testing.assert_allclose(
            metrics.layer_activations(newest_hidden_states(hidden).numpy(), aggregation),
            np.ravel(DataConverter.process_mlp_activations(hidden, aggregation)),
            rtol=1e-5,
        )
    np.testing.assert_allclose(
        metrics.attention_entropies(newest_attention_rows(attentions).numpy()),
        np.ravel(DataConverter.process_entropy(attentions)),
        rtol=1e-5,
    )
