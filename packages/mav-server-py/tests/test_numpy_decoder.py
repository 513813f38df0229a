"""The numpy decoder against the torch engine's lean decoder (`engines/torch/decode_llama.py`, itself held
to transformers' eager forward) on the bundled SmolLM2-135M-Instruct, weights from the same GGUF.

Tolerances, per generated position (float32 arithmetic in another order, nothing else):
- greedy tokens: identical, 32 per prompt;
- logits: max |numpy - torch| <= 1e-4 x max |torch|;
- hidden states (embeddings, every block, final norm): max |numpy - torch| <= 1e-4 x max |torch|;
- attention rows: max |numpy - torch| <= 1e-4 (probabilities; entropies go on the wire with 3 decimals).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
import torch

from mav_server.engines import Decoder
from mav_server.engines.numpy import PROMPT_CHUNK, NumpyDecoder
from mav_server.engines.numpy import decoder as numpy_decoder
from mav_server.engines.numpy.engine import NumpyModel
from mav_server.engines.torch import TorchModel

LOGITS_RTOL = 1e-4
HIDDEN_RTOL = 1e-4
ATTENTION_ATOL = 1e-4
STEPS = 32


def test_loading_reports_progress_at_least_every_tenth(numpy_smol_loading: Any) -> None:
    _, progress = numpy_smol_loading
    assert progress[-1] == 1.0
    steps = np.diff([0.0, *progress])
    assert (steps > 0).all() and steps.max() <= 0.1, progress


def test_weights_equal_transformers_gguf_weights(numpy_smol: NumpyModel, smol: TorchModel) -> None:
    """The same float32 numbers as transformers' GGUF loader (gguf-py de-quantizes for both; q and k
    rows un-permuted the same way)."""
    weights = numpy_smol.weights
    c, hf = weights.config, smol.model
    assert (c.n_layers, c.n_heads, c.n_kv_heads, c.head_dim, c.hidden_size) == (30, 9, 3, 64, 576)
    assert (c.vocab_size, c.tied, c.rope_theta, c.context_length) == (49152, True, 100000.0, 8192)
    assert c.n_params == sum(p.numel() for p in hf.parameters())
    assert weights.lm_head is weights.embed
    np.testing.assert_array_equal(weights.embed, hf.model.embed_tokens.weight.detach())
    np.testing.assert_array_equal(weights.final_norm, hf.model.norm.weight.detach())
    for ours, layer in zip(weights.layers, hf.model.layers, strict=True):
        attn, mlp = layer.self_attn, layer.mlp
        np.testing.assert_array_equal(
            ours.qkv, torch.cat([attn.q_proj.weight, attn.k_proj.weight, attn.v_proj.weight]).detach()
        )
        np.testing.assert_array_equal(ours.o, attn.o_proj.weight.detach())
        np.testing.assert_array_equal(
            ours.gate_up, torch.cat([mlp.gate_proj.weight, mlp.up_proj.weight]).detach()
        )
        np.testing.assert_array_equal(ours.down, mlp.down_proj.weight.detach())
        np.testing.assert_array_equal(ours.attn_norm, layer.input_layernorm.weight.detach())
        np.testing.assert_array_equal(ours.ffn_norm, layer.post_attention_layernorm.weight.detach())
    np.testing.assert_allclose(weights.inv_freq, hf.model.rotary_emb.inv_freq.numpy(), rtol=1e-6)


LONG = " ".join(
    f"Day {i}: the {animal} crossed the {place} at {i % 12 + 1} o'clock, and nobody saw it."
    for i, (animal, place) in enumerate(
        zip(["fox", "heron", "badger", "otter", "lynx"] * 6, ["river", "field", "bridge"] * 10, strict=True)
    )
)
"""About 600 tokens: a prompt that goes through in two chunks."""

PROMPTS = [
    ("plain", "The capital of France is"),
    ("plain", "Le café où nous nous retrouvions chaque matin était"),
    ("plain", "東京は日本の首都で、"),
    ("plain", "def fibonacci(n):\n    "),
    ("plain", "I love pizza 🍕 because"),
    ("chat", "What is 2+2?"),
    ("chat", "Write a haiku about autumn leaves."),
    ("chat", "Wie spät ist es in Tokio? Antworte kurz. 🙂"),
    ("chat", "Explain gravity to a five-year-old."),
    ("plain", LONG),
]


def prompt_ids(numpy_smol: NumpyModel, smol: TorchModel, kind: str, text: str) -> list[int]:
    """The prompt as the server tokenizes it, checked against the torch engine's (transformers')."""
    ours, theirs = numpy_smol.tokenizer, smol.tokenizer
    if kind == "chat":
        messages = [{"role": "user", "content": text}]
        text = ours.apply_chat_template(messages, add_generation_prompt=True)
        assert text == theirs.apply_chat_template(messages, add_generation_prompt=True)
    ids = ours.encode(text, add_special_tokens=kind != "chat")
    assert ids == theirs.encode(text, add_special_tokens=kind != "chat")
    return ids


Step = tuple[int, np.ndarray, np.ndarray, np.ndarray]


def greedy(decoder: Decoder, prompt: list[int], steps: int) -> list[Step]:
    """Greedy tokens and each position's outputs, the prompt in chunks as the generation loop feeds it."""
    ids = np.array(prompt)
    while len(prompt) - decoder.length > PROMPT_CHUNK:
        decoder.forward(ids[decoder.length : decoder.length + PROMPT_CHUNK])
    (o,) = decoder.forward(ids[decoder.length :])
    out: list[Step] = []
    for _ in range(steps):
        token = int(o.logits[0].argmax())
        out.append((token, o.logits.copy(), o.hidden_states.copy(), o.attentions.copy()))
        (o,) = decoder.forward(np.array([token]))
    return out


def relative_error(ours: np.ndarray, theirs: np.ndarray) -> float:
    return float(np.abs(ours - theirs).max() / np.abs(theirs).max())


@pytest.mark.parametrize(("kind", "text"), PROMPTS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(PROMPTS)])
def test_greedy_tokens_and_outputs_equal_the_torch_decoder(
    numpy_smol: NumpyModel, smol: TorchModel, kind: str, text: str
) -> None:
    weights = numpy_smol.weights
    prompt = prompt_ids(numpy_smol, smol, kind, text)
    if text is LONG:
        assert len(prompt) > PROMPT_CHUNK  # goes through in chunks
    capacity = len(prompt) + STEPS
    torch_decoder = smol.decoder(capacity)
    assert type(torch_decoder).__name__ == "LeanDecoder"
    # One thread each (a one-token pass is bound by memory): side by side they use two cores.
    torch.set_num_threads(1)
    with ThreadPoolExecutor(2) as pool:
        torch_run = pool.submit(greedy, torch_decoder, prompt, STEPS)
        ours = greedy(NumpyDecoder(weights, capacity), prompt, STEPS)
        theirs = torch_run.result()
    assert [s[0] for s in ours] == [s[0] for s in theirs]
    for step, ((_, logits, hidden, rows), (_, t_logits, t_hidden, t_rows)) in enumerate(
        zip(ours, theirs, strict=True)
    ):
        assert (
            logits.shape == t_logits.shape and hidden.shape == t_hidden.shape and rows.shape == t_rows.shape
        )
        assert logits.dtype == hidden.dtype == rows.dtype == np.float32
        assert relative_error(logits, t_logits) <= LOGITS_RTOL, step
        assert relative_error(hidden, t_hidden) <= HIDDEN_RTOL, step
        assert np.abs(rows - t_rows).max() <= ATTENTION_ATOL, step


def close(a: Any, b: Any) -> None:
    """Two passes over the same positions (one fed two tokens at once, the other one at a time)."""
    assert relative_error(a.logits, b.logits) <= LOGITS_RTOL
    assert relative_error(a.hidden_states, b.hidden_states) <= HIDDEN_RTOL
    assert a.attentions.shape == b.attentions.shape
    assert np.abs(a.attentions - b.attentions).max() <= ATTENTION_ATOL


def test_keep_two_and_rewind_equal_one_token_at_a_time(numpy_smol: NumpyModel) -> None:
    weights = numpy_smol.weights
    prompt = np.array([504, 3458, 282, 4649, 314])
    a, b, c = 253, 1345, 30
    both = NumpyDecoder(weights, capacity=16)
    both.forward(prompt)
    first, second = both.forward(np.array([a, b]), keep=2)
    assert both.length == len(prompt) + 2
    single = NumpyDecoder(weights, capacity=16)
    single.forward(prompt)
    (one,) = single.forward(np.array([a]))
    (two,) = single.forward(np.array([b]))
    close(first, one)
    close(second, two)
    # The guess `b` was not chosen: `c` follows `a` instead.
    both.rewind(len(prompt) + 1)
    single.rewind(len(prompt) + 1)
    (after_rewind,) = both.forward(np.array([c]))
    (after_single,) = single.forward(np.array([c]))
    fresh = NumpyDecoder(weights, capacity=16)
    fresh.forward(prompt)
    fresh.forward(np.array([a]))
    (expected,) = fresh.forward(np.array([c]))
    close(after_rewind, expected)
    np.testing.assert_array_equal(after_single.logits, expected.logits)  # the same passes, bit for bit


def test_a_long_input_goes_through_in_chunks(numpy_smol: NumpyModel, monkeypatch: Any) -> None:
    weights = numpy_smol.weights
    prompt = np.array([(37 * i) % 4000 + 30 for i in range(21)])
    whole = NumpyDecoder(weights, capacity=32).forward(prompt, keep=2)
    monkeypatch.setattr(numpy_decoder, "PROMPT_CHUNK", 5)
    passes: list[int] = []
    run = NumpyDecoder._pass

    def counting(self: NumpyDecoder, token_ids: np.ndarray, keep: int) -> Any:
        passes.append(len(token_ids))
        return run(self, token_ids, keep)

    monkeypatch.setattr(NumpyDecoder, "_pass", counting)
    chunked = NumpyDecoder(weights, capacity=32).forward(prompt, keep=2)
    assert passes == [5, 5, 5, 6]  # a last pass of 1 token could not return 2 outputs
    for ours, theirs in zip(chunked, whole, strict=True):
        close(ours, theirs)


def test_chunks_shrink_late_in_a_long_context(numpy_smol: NumpyModel, monkeypatch: Any) -> None:
    weights = numpy_smol.weights
    prompt = np.array([(37 * i) % 4000 + 30 for i in range(30)])
    whole = NumpyDecoder(weights, capacity=32).forward(prompt)
    monkeypatch.setattr(numpy_decoder, "PROMPT_CHUNK", 16)
    monkeypatch.setattr(numpy_decoder, "SCORES_BYTES", 4 * weights.config.n_heads * 64)  # 64 scores a head
    passes: list[int] = []
    run = NumpyDecoder._pass

    def counting(self: NumpyDecoder, token_ids: np.ndarray, keep: int) -> Any:
        passes.append(len(token_ids))
        return run(self, token_ids, keep)

    monkeypatch.setattr(NumpyDecoder, "_pass", counting)
    (chunked,) = NumpyDecoder(weights, capacity=32).forward(prompt)
    assert passes[:4] == [4, 3, 2, 2] and passes[-2:] == [1, 1] and sum(passes) == 30  # 64 // (length + 16)
    close(chunked, whole[0])


def test_bad_calls_raise_value_errors(numpy_smol: NumpyModel) -> None:
    weights = numpy_smol.weights
    decoder = NumpyDecoder(weights, capacity=4)
    with pytest.raises(ValueError, match="holds 4 positions"):
        decoder.forward(np.arange(5))
    with pytest.raises(ValueError, match="keep must be between 1 and the 2 tokens"):
        decoder.forward(np.arange(2), keep=3)
    with pytest.raises(ValueError, match="token ids must be in"):
        decoder.forward(np.array([49152]))
    with pytest.raises(ValueError, match="non-empty 1-D integer"):
        decoder.forward(np.array([], dtype=np.int64))
    with pytest.raises(ValueError, match="non-empty 1-D integer"):
        decoder.forward(np.array([1.0]))
    decoder.forward(np.arange(2))
    with pytest.raises(ValueError, match="cannot rewind to 3"):
        decoder.rewind(3)
