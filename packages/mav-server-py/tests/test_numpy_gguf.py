"""The numpy engine's GGUF loading: the weights transformers' GGUF loader makes, the settings checked,
and every file it cannot run refused with a `GgufError` that names the reason (files written with
gguf-py's `GGUFWriter`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from gguf import GGML_QUANT_SIZES
from transformers import AutoModelForCausalLM, AutoTokenizer, DynamicCache

from mav_server.engines.numpy import GgufError, GgufFile, GgufModel, NumpyDecoder, load_gguf
from mav_server.engines.numpy.weights import unpermute_rows

from .tiny_gguf import FF, HEAD_DIM, HEADS, HIDDEN, KV_HEADS, LAYERS, VOCAB, Q, tensors, write_tiny_llama

RTOL = 1e-5
"""Largest |ours - transformers| over the largest |transformers| for logits and hidden states, and the
largest absolute difference of attention probabilities: float32 arithmetic in another order."""


def transformers_model(path: Path) -> Any:
    return AutoModelForCausalLM.from_pretrained(
        str(path.parent), gguf_file=path.name, attn_implementation="eager", dtype=torch.float32
    ).eval()


def relative_error(ours: np.ndarray, theirs: np.ndarray) -> float:
    return float(np.abs(ours - theirs).max() / np.abs(theirs).max())


@pytest.mark.parametrize("tied", [False, True])
def test_tiny_llama_matches_transformers_gguf_load_and_forward(tmp_path: Path, tied: bool) -> None:
    path = write_tiny_llama(tmp_path / "tiny.gguf", tied=tied)
    weights = load_gguf(path)
    c = weights.config
    assert (c.architecture, c.n_layers, c.n_heads, c.n_kv_heads, c.head_dim) == (
        "llama",
        LAYERS,
        HEADS,
        KV_HEADS,
        HEAD_DIM,
    )
    assert (c.hidden_size, c.intermediate_size, c.vocab_size, c.tied) == (HIDDEN, FF, VOCAB, tied)
    assert (weights.lm_head is weights.embed) == tied
    model = transformers_model(path)
    assert model.config.tie_word_embeddings == tied
    # The same float32 values, q and k rows un-permuted as transformers does it.
    for ours, layer in zip(weights.layers, model.model.layers, strict=True):
        attn, mlp = layer.self_attn, layer.mlp
        qkv = torch.cat([attn.q_proj.weight, attn.k_proj.weight, attn.v_proj.weight]).detach().numpy()
        np.testing.assert_array_equal(ours.qkv, qkv)
        np.testing.assert_array_equal(
            ours.gate_up, torch.cat([mlp.gate_proj.weight, mlp.up_proj.weight]).detach()
        )
        np.testing.assert_array_equal(ours.down, mlp.down_proj.weight.detach())
        np.testing.assert_array_equal(ours.o, attn.o_proj.weight.detach())
    np.testing.assert_array_equal(weights.lm_head, model.lm_head.weight.detach())

    decoder = NumpyDecoder(weights, capacity=24)
    cache = DynamicCache(config=model.config)
    feed = [5, 17, 3, 99, 42, 8, 200, 1]
    for step in range(12):
        with torch.inference_mode():
            theirs = model(
                torch.tensor([feed]),
                past_key_values=cache,
                use_cache=True,
                output_hidden_states=True,
                output_attentions=True,
            )
        (ours,) = decoder.forward(np.array(feed))
        assert relative_error(ours.logits, theirs.logits[:, -1].numpy()) < RTOL, step
        assert (
            relative_error(ours.hidden_states, np.stack([h[0, -1].numpy() for h in theirs.hidden_states]))
            < RTOL
        )
        rows = np.stack([a[0, :, -1].numpy() for a in theirs.attentions])
        np.testing.assert_allclose(ours.attentions, rows, rtol=0, atol=RTOL)
        token = int(theirs.logits[0, -1].argmax())
        assert int(ours.logits[0].argmax()) == token, step
        feed = [token]


def test_unpermute_rows_inverts_llama_cpp_s_permutation() -> None:
    heads, head_dim = 3, 8
    hf = np.arange(heads * head_dim)
    # llama.cpp's converter: each head's rows (first half, second half) interleaved pairwise
    gguf = hf.reshape(heads, 2, head_dim // 2).swapaxes(1, 2).reshape(-1)
    restored = np.empty_like(gguf)
    restored[unpermute_rows(heads * head_dim, heads)] = gguf
    np.testing.assert_array_equal(restored, hf)


def test_tokenizer_of_a_llama3_style_vocabulary_matches_transformers(tmp_path: Path) -> None:
    """The tiny file's vocabulary has llama-bpe's split pattern, a BOS added to every text, control and
    user-defined tokens: paths the bundled model does not take."""
    path = write_tiny_llama(tmp_path / "tiny.gguf")
    ours = GgufModel(path).tokenizer
    theirs = AutoTokenizer.from_pretrained(str(tmp_path), gguf_file=path.name)
    for text in ["the thing in there", " a  s\n\nthe<|im_end|>x<think>y", "ÿ é 中 🙂 1234567", ""]:
        for special in (True, False):
            assert ours.encode(text, special) == theirs(text, add_special_tokens=special)["input_ids"], text
        ids = ours.encode(text)
        for skip in (True, False):
            assert ours.decode(ids, skip) == theirs.decode(ids, skip_special_tokens=skip)
    assert ours.encode("the")[0] == ours.bos_token_id == VOCAB - 3
    messages = [{"role": "user", "content": "hi"}]
    assert ours.apply_chat_template(messages) == theirs.apply_chat_template(
        messages, add_generation_prompt=True, tokenize=False
    )


def _with(name: str, array: np.ndarray, qtype: Q) -> dict[str, tuple[np.ndarray, Q]]:
    return {**tensors(), name: (array, qtype)}


def _without(name: str) -> dict[str, tuple[np.ndarray, Q]]:
    return {k: v for k, v in tensors().items() if k != name}


REFUSED: list[tuple[str, dict[str, Any], str]] = [
    ("unknown architecture", {"arch": "gpt2"}, "architecture 'gpt2' is not supported"),
    (
        "linear rope scaling",
        {"settings": {"llama.rope.scaling.type": "linear", "llama.rope.scaling.factor": 2.0}},
        "rope scaling 'linear'",
    ),
    ("yarn rope scaling", {"settings": {"llama.rope.scaling.type": "yarn"}}, "rope scaling 'yarn'"),
    ("rope scaling factor", {"settings": {"llama.rope.scaling.factor": 4.0}}, "rope scaling by 4.0"),
    (
        "rope frequency factors",
        {"weights": _with("rope_freqs.weight", np.ones(HEAD_DIM // 2, np.float32), Q.F32)},
        "rope_freqs.weight",
    ),
    ("partial rotary", {"settings": {"llama.rope.dimension_count": 8}}, "rope over 8 of 16"),
    ("mixture of experts", {"settings": {"llama.expert_count": 8}}, "mixture of experts"),
    (
        "unknown setting",
        {"settings": {"llama.attention.sliding_window": 16}},
        "llama.attention.sliding_window",
    ),
    ("heads not grouped", {"settings": {"llama.attention.head_count_kv": 3}}, "over 3 kv heads"),
    ("missing setting", {"settings": {"llama.block_count": None}}, "no llama.block_count"),
    (
        "quantisation gguf-py cannot de-quantize",
        {
            "weights": _with(
                "blk.1.ffn_up.weight",
                np.zeros((FF, HIDDEN // 32 * GGML_QUANT_SIZES[Q.Q8_1][1]), np.uint8),
                Q.Q8_1,
            )
        },
        "Q8_1",
    ),
    ("missing tensor", {"weights": _without("blk.1.ffn_up.weight")}, "blk.1.ffn_up.weight is missing"),
    (
        "bias",
        {"weights": _with("blk.0.attn_q.bias", np.zeros(HIDDEN, np.float32), Q.F32)},
        "blk.0.attn_q.bias are not part of",
    ),
    (
        "wrong shape",
        {"weights": _with("blk.0.ffn_gate.weight", np.zeros((FF, 2 * HIDDEN), np.float32), Q.F32)},
        "blk.0.ffn_gate.weight has shape (96, 128)",
    ),
    ("SentencePiece tokenizer", {"tokenizer": {"tokenizer.ggml.model": "llama"}}, "tokenizer model 'llama'"),
]


@pytest.mark.parametrize(("kwargs", "reason"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_files_it_cannot_run_are_refused_with_the_reason(
    tmp_path: Path, kwargs: dict[str, Any], reason: str
) -> None:
    path = write_tiny_llama(tmp_path / "bad.gguf", **kwargs)
    with pytest.raises(GgufError) as error:
        GgufModel(path)
    assert reason in str(error.value)


@pytest.mark.parametrize(
    ("cut", "reason"),
    [(100, "truncated: tensor blk.1.ffn_down.weight ends at byte"), (-200, "truncated or corrupt")],
    ids=["in the weights", "in the header"],
)
def test_a_truncated_file_is_refused(tmp_path: Path, cut: int, reason: str) -> None:
    path = write_tiny_llama(tmp_path / "tiny.gguf")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - cut] if cut > 0 else data[:-cut])
    with pytest.raises(GgufError, match=reason):
        GgufModel(path)


def test_files_that_are_not_gguf_are_refused(tmp_path: Path) -> None:
    (tmp_path / "empty.gguf").write_bytes(b"")
    (tmp_path / "zip.gguf").write_bytes(b"PK\x03\x04" + bytes(100))
    (tmp_path / "future.gguf").write_bytes(b"GGUF" + (9).to_bytes(4, "little") + bytes(16))
    for name, reason in [("empty", "empty"), ("zip", "not a GGUF file"), ("future", "GGUF version 9")]:
        with pytest.raises(GgufError, match=reason):
            GgufFile.read(tmp_path / f"{name}.gguf")
    with pytest.raises(GgufError, match="cannot read"):
        GgufFile.read(tmp_path / "missing.gguf")


def test_weights_that_are_not_finite_are_refused_at_load(tmp_path: Path) -> None:
    norm = np.ones(HIDDEN, np.float32)
    norm[3] = np.nan
    model = GgufModel(
        write_tiny_llama(tmp_path / "nan.gguf", weights=_with("blk.1.ffn_norm.weight", norm, Q.F32))
    )
    with pytest.raises(GgufError, match=r"blk\.1\.ffn_norm\.weight has values that are not finite"):
        model.load_weights()
