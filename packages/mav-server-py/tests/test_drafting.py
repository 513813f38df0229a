"""Guessing the next token (prompt lookup) and checking the guess in the same forward pass."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from mav_server.decode_llama import LlamaDecoder, LlamaWeights
from mav_server.drafting import PromptLookup
from mav_server.engine import RawStep, iter_steps
from mav_server.protocol import EffectiveRequest
from mav_server.sampling import Sampler

from .test_decode_llama import CPU, loaded_of, tiny_llama

RTOL = 1e-4
COUNTING = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,"


def test_prompt_lookup_guesses_from_the_longest_latest_match() -> None:
    lookup = PromptLookup([5, 6, 7, 1, 9, 7, 2, 5, 6])
    assert lookup.guess() == 7  # "5 6" was followed by 7
    lookup.append(7)
    assert lookup.guess() == 1  # "5 6 7" was followed by 1, though "7" alone was last followed by 2
    lookup.append(4)
    assert lookup.guess() is None  # 4 is new
    lookup = PromptLookup([3, 8, 0, 3, 9, 0, 3])
    assert lookup.guess() == 9  # the latest occurrence of "0 3"
    assert PromptLookup([1, 2, 3]).guess() is None
    assert PromptLookup().guess() is None


def test_a_pass_keeps_the_last_positions_and_rewinds() -> None:
    weights = LlamaWeights(tiny_llama(tied=True))
    one, two = LlamaDecoder(weights, capacity=8), LlamaDecoder(weights, capacity=8)
    with torch.inference_mode():
        one.forward(torch.tensor([3, 1, 4]))
        (a,) = one.forward(torch.tensor([1]))
        (b,) = one.forward(torch.tensor([5]))
        two.forward(torch.tensor([3, 1, 4]))
        pair = two.forward(torch.tensor([1, 5]), keep=2)
    assert [out.attentions.shape[-1] for out in pair] == [4, 5]  # each row up to its own position
    for ours, theirs in zip(pair, (a, b), strict=True):
        torch.testing.assert_close(ours.logits, theirs.logits, rtol=RTOL, atol=1e-6)
        torch.testing.assert_close(ours.hidden_states, theirs.hidden_states, rtol=RTOL, atol=1e-6)
        torch.testing.assert_close(ours.attentions, theirs.attentions, rtol=RTOL, atol=1e-6)
    two.rewind(4)  # the guess 5 was not chosen: 9 goes in its place
    with torch.inference_mode():
        (c,) = two.forward(torch.tensor([9]))
        one.rewind(4)
        (d,) = one.forward(torch.tensor([9]))
    torch.testing.assert_close(c.logits, d.logits, rtol=RTOL, atol=1e-6)
    with pytest.raises(ValueError, match="rewind"):
        two.rewind(6)
    with pytest.raises(ValueError, match="keep"):
        two.forward(torch.tensor([1]), keep=2)


def steps(
    loaded: Any, prompt: list[int], n: int, guess: bool, **params: Any
) -> tuple[list[RawStep], list[int]]:
    """The run's steps, and the tokens each forward pass fed after the prompt."""
    request = EffectiveRequest(model="m", prompt="x", max_new_tokens=n, **params)
    passes: list[int] = []
    forward = LlamaDecoder.forward

    def counting(self: LlamaDecoder, token_ids: torch.Tensor, keep: int = 1) -> Any:
        passes.append(int(token_ids.shape[0]))
        return forward(self, token_ids, keep)

    LlamaDecoder.forward = counting  # type: ignore[method-assign]
    try:
        return list(iter_steps(loaded, prompt, Sampler(request, CPU), "l2", n, guess=guess)), passes[1:]
    finally:
        LlamaDecoder.forward = forward  # type: ignore[method-assign]


def assert_same_steps(ours: list[RawStep], theirs: list[RawStep]) -> None:
    assert [s.token_id for s in ours] == [s.token_id for s in theirs]
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.logits.numpy(), b.logits.numpy(), rtol=RTOL, atol=1e-4)
        np.testing.assert_allclose(a.activations, b.activations, rtol=RTOL)
        np.testing.assert_allclose(a.attention_entropy, b.attention_entropy, rtol=RTOL, atol=1e-6)


@pytest.mark.parametrize("params", [{}, {"temperature": 0.8, "top_k": 40, "seed": 7}])
def test_guessing_gives_the_same_steps_in_fewer_passes(smol: Any, params: dict[str, Any]) -> None:
    prompt = smol.tokenizer(COUNTING)["input_ids"]
    guessed, passes = steps(smol, prompt, 24, True, **params)
    plain, single = steps(smol, prompt, 24, False, **params)
    assert single == [1] * 23
    assert_same_steps(guessed, plain)
    # A pass feeds the newest token and, mostly, a guess; every accepted guess saves a pass.
    assert set(passes) <= {1, 2} and len(passes) < 23, passes


def test_a_refused_guess_loses_nothing() -> None:
    """A tiny random model rarely picks the guess: the run is the one-pass-per-token run anyway."""
    model = tiny_llama(tied=False)
    prompt = [1, 2, 3, 1, 2, 3, 1, 2]
    guessed, passes = steps(loaded_of(model), prompt, 20, True)
    plain, _ = steps(loaded_of(model), prompt, 20, False)
    assert 2 in passes  # guesses were checked
    assert_same_steps(guessed, plain)
    accepted = len(guessed) - 1 - len(passes)  # steps beyond one per pass (the prompt's included)
    assert 0 <= accepted <= passes.count(2)
