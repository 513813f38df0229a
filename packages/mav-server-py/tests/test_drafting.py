"""Drafting: guessing the next token (prompt lookup), checking the guess in the same forward pass, and
guessing only while it pays."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
import torch

from mav_server.drafting import Drafter, PromptLookup, measure_draft_cost
from mav_server.engines.torch.decode_llama import LlamaDecoder, LlamaWeights
from mav_server.generation import RawStep, iter_steps
from mav_server.protocol import EffectiveRequest
from mav_server.sampling import Sampler

from .test_decode_llama import loaded_of, tiny_llama
from .tiny import TINY_GPT2_ID

RTOL = 1e-4
COUNTING = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,"
ALWAYS = 1.0
"""A draft cost at which a guess always pays (a second row costs nothing)."""


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


class CountingDecoder:
    """Records how many tokens each forward pass feeds."""

    def __init__(self, decoder: Any) -> None:
        self.decoder = decoder
        self.fed: list[int] = []

    @property
    def length(self) -> int:
        return self.decoder.length

    def forward(self, token_ids: np.ndarray, keep: int = 1) -> Any:
        self.fed.append(int(token_ids.shape[0]))
        return self.decoder.forward(token_ids, keep)

    def rewind(self, length: int) -> None:
        self.decoder.rewind(length)


def steps(
    loaded: Any, prompt: list[int], n: int, draft_cost: float | None, **params: Any
) -> tuple[list[RawStep], list[int]]:
    """The run's steps, and the tokens each forward pass fed after the prompt."""
    request = EffectiveRequest(model="m", prompt="x", max_new_tokens=n, **params)
    counting: list[CountingDecoder] = []

    class Counted(type(loaded)):  # type: ignore[misc]
        def decoder(self, capacity: int) -> Any:
            counting.append(CountingDecoder(super().decoder(capacity)))
            return counting[-1]

    run = Counted(**{f.name: getattr(loaded, f.name) for f in dataclasses.fields(loaded)})
    run.draft_cost = draft_cost
    out = list(iter_steps(run, prompt, Sampler(request), "l2", n))
    return out, counting[0].fed[1:]


def assert_same_steps(ours: list[RawStep], theirs: list[RawStep]) -> None:
    assert [s.token_id for s in ours] == [s.token_id for s in theirs]
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.logits, b.logits, rtol=RTOL, atol=1e-4)
        np.testing.assert_allclose(a.activations, b.activations, rtol=RTOL)
        np.testing.assert_allclose(a.attention_entropy, b.attention_entropy, rtol=RTOL, atol=1e-6)


@pytest.mark.parametrize("params", [{}, {"temperature": 0.8, "top_k": 40, "seed": 7}])
def test_guessing_gives_the_same_steps_in_fewer_passes(smol: Any, params: dict[str, Any]) -> None:
    prompt = smol.tokenizer.encode(COUNTING)
    guessed, passes = steps(smol, prompt, 24, ALWAYS, **params)
    plain, single = steps(smol, prompt, 24, None, **params)
    assert single == [1] * 23
    assert_same_steps(guessed, plain)
    # A pass feeds the newest token and, mostly, a guess; every accepted guess saves a pass.
    assert set(passes) <= {1, 2} and len(passes) < 23, passes


@pytest.mark.parametrize("model", ["llama", "gpt2"])
def test_a_refused_guess_loses_nothing(model: str, tiny_registry: Any) -> None:
    """A tiny random model rarely picks the guess: the run is the one-pass-per-token run anyway, on the
    lean decode and on the transformers forward alike."""
    loaded = loaded_of(tiny_llama(tied=False)) if model == "llama" else tiny_registry.get(TINY_GPT2_ID)
    prompt = [1, 2, 3, 1, 2, 3, 1, 2]
    guessed, passes = steps(loaded, prompt, 20, ALWAYS)
    plain, _ = steps(loaded, prompt, 20, None)
    assert 2 in passes  # guesses were checked
    assert_same_steps(guessed, plain)
    accepted = len(guessed) - 1 - len(passes)  # steps beyond one per pass (the prompt's included)
    assert 0 <= accepted <= passes.count(2)


def test_guessing_runs_only_while_it_pays() -> None:
    """A second row that costs 40% more pays only while over 40% of the guesses are chosen. A random model
    sampled at temperature 1 refuses nearly every guess: after a few, the run stops feeding them. Greedy,
    the same model repeats one token: nearly every pass checks a guess. At twice the cost, none does."""
    loaded = loaded_of(tiny_llama(tied=False))
    prompt = [1, 2, 3, 1, 2, 3, 1, 2]
    _, sampled = steps(loaded, prompt, 40, 1.4, temperature=1.0, seed=3)
    assert 1 <= sampled.count(2) <= 3, sampled
    _, greedy = steps(loaded, prompt, 40, 1.4)
    assert greedy.count(2) >= 15, greedy
    _, never = steps(loaded, prompt, 40, 2.0)
    assert set(never) == {1}


def test_draft_cost_is_measured_on_the_decoder() -> None:
    decoder = CountingDecoder(loaded_of(tiny_llama(tied=True)).decoder(64))
    cost = measure_draft_cost(decoder, vocab_size=128)
    assert np.isfinite(cost) and cost > 0
    assert decoder.fed == [32] + [2, 1, 1, 2] * 3 and decoder.length == 32


def test_drafter_counts_its_passes() -> None:
    decoder = loaded_of(tiny_llama(tied=True)).decoder(16)
    drafter = Drafter(decoder, [1, 2, 3], draft_cost=None)
    request = EffectiveRequest(model="m", prompt="x")
    tokens = [token for token, _ in drafter.steps(Sampler(request).choose, 5)]
    assert len(tokens) == 5 and drafter.passes == 5 and decoder.length == 7
