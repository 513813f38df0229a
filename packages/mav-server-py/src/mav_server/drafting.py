"""Drafting: feeding a decoder the newest token and, when it pays, a guess of the token after it.

A one-token step reads every weight of the model for one row of activations; on a CPU that is mostly
memory-bound, so two rows can cost little more than one. The `Drafter` then feeds the token just chosen
and a guess of the next one (the token that followed the latest earlier occurrence of the text's last
three tokens, or two, or one: language repeats itself, and a small model's output more so). When the
sampler chooses the guess, the pass has also produced the step after it; a guess not chosen is
discarded with its cache entry (`Decoder.rewind`).

Nothing about the run changes but the number of passes: each token is still chosen by the sampler
from the logits of its own position, given the tokens before it, in order (a seeded sampler draws the
same numbers). Whether a guess is fed is decided per pass: only while the share of guesses the sampler
would have chosen (tracked over the run, guesses fed or not) makes up for what the second row costs on
this machine (`measure_draft_cost`, timed once when the model loads).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from .engines import Decoder, Outputs

LONGEST_MATCH = 3
"""Tokens of the text's end looked up: longer matches guess better, shorter ones more often."""

PROMPT_CHUNK = 512
"""Prompt tokens per forward pass: a pass holds one layer's scores for all its tokens at a time (heads x
chunk x length floats), so a long prompt goes through in chunks; only the last chunk's newest position
is read."""

FORCED_CHUNK = 16
"""Forced tokens per pass when their positions' outputs are wanted: a pass keeps every layer's attention
rows of the positions it returns, so a long forced prefix goes through a few positions at a time."""

ACCEPTANCE_PRIOR = 0.5
"""Guesses chosen, as a share, assumed before a run has made any: optimistic, so drafting starts on
where a second row is cheap and the run's own guesses soon correct it."""
ACCEPTANCE_MEMORY = 0.1
"""Weight of each new guess in the running share: recent text says more about the next guess."""


class PromptLookup:
    """An index of the text so far: for each n-gram (n <= `LONGEST_MATCH`), the token after its latest
    occurrence. `append` is O(1), `guess` too."""

    def __init__(self, tokens: Iterable[int] = ()) -> None:
        self.tokens: list[int] = []
        self.after: list[dict[tuple[int, ...], int]] = [{} for _ in range(LONGEST_MATCH)]
        for token in tokens:
            self.append(token)

    def append(self, token: int) -> None:
        tokens = self.tokens
        end = len(tokens)
        for n in range(1, min(LONGEST_MATCH, end) + 1):
            self.after[n - 1][tuple(tokens[end - n :])] = token
        tokens.append(token)

    def guess(self) -> int | None:
        """The token that followed the longest suffix of the text seen before, or None."""
        tokens = self.tokens
        for n in range(min(LONGEST_MATCH, len(tokens)), 0, -1):
            token = self.after[n - 1].get(tuple(tokens[-n:]))
            if token is not None:
                return token
        return None


Choose = Callable[[Sequence[int], np.ndarray], int]
"""`choose(tokens so far, logits (1, vocab)) -> token id`: the sampler."""


class Drafter:
    """Runs one generation's forward passes over `decoder` and yields `(token id, outputs)` per token.

    `draft_cost` is a two-token pass's time over a one-token pass's on this machine (None: never
    guess); a guess is fed while `1 + acceptance > draft_cost`.
    """

    def __init__(self, decoder: Decoder, prompt_ids: Sequence[int], draft_cost: float | None) -> None:
        self.decoder = decoder
        self.lookup = PromptLookup(prompt_ids)
        self.tokens = self.lookup.tokens
        self.draft_cost = draft_cost
        self.acceptance = ACCEPTANCE_PRIOR
        self.passes = 0

    def _feed(self, ids: Sequence[int], keep: int = 1) -> list[Outputs]:
        self.passes += 1
        return self.decoder.forward(np.asarray(ids, dtype=np.int64), keep)

    def _pays(self) -> bool:
        return self.draft_cost is not None and 1.0 + self.acceptance > self.draft_cost

    def force(self, forced: Sequence[int], *, outputs: bool) -> Iterator[tuple[int, Outputs]]:
        """Take `forced` as generated after the prompt, before `steps` chooses the next tokens. With
        `outputs`, the iterator gives each forced token with the outputs of the position that predicts
        it (its passes run as they are asked for); without, it is empty (the first step's pass feeds
        them)."""
        start = len(self.tokens) - 1  # the position that predicts forced[0]
        for token in forced:
            self.lookup.append(token)
        return self._forced_outputs(start, forced) if outputs and forced else iter(())

    def _forced_outputs(self, start: int, forced: Sequence[int]) -> Iterator[tuple[int, Outputs]]:
        decoder, tokens = self.decoder, self.tokens
        while decoder.length < start:
            self._feed(tokens[decoder.length : min(start, decoder.length + PROMPT_CHUNK)])
        for first in range(0, len(forced), FORCED_CHUNK):
            group = tokens[start + first : start + min(first + FORCED_CHUNK, len(forced))]
            for offset, out in enumerate(self._feed(group, keep=len(group))):
                yield forced[first + offset], out

    def steps(self, choose: Choose, max_new_tokens: int) -> Iterator[tuple[int, Outputs]]:
        """Choose up to `max_new_tokens` tokens; the forward pass for a token runs only when it is asked
        for (a reader that stops iterating stops the passes)."""
        decoder, tokens = self.decoder, self.tokens
        produced = 0
        while produced < max_new_tokens:
            while len(tokens) - decoder.length > PROMPT_CHUNK:
                self._feed(tokens[decoder.length : decoder.length + PROMPT_CHUNK])
            guess = self.lookup.guess() if max_new_tokens - produced >= 2 else None
            fed = guess is not None and self._pays()
            if fed:
                outputs = self._feed([*tokens[decoder.length :], guess], keep=2)
            else:
                outputs = self._feed(tokens[decoder.length :])
            # outputs[0] is the newest token's position; outputs[1], when a guess was fed, the guess's,
            # which counts only if the sampler chooses the guess there.
            token = choose(tokens, outputs[0].logits)
            if guess is not None:  # guesses not fed count too: the sampler's choice is the same
                hit = 1.0 if token == guess else 0.0
                self.acceptance += (hit - self.acceptance) * ACCEPTANCE_MEMORY
            self.lookup.append(token)
            produced += 1
            yield token, outputs[0]
            if not fed:
                continue
            if token != guess:
                decoder.rewind(len(tokens) - 1)  # the guess sits where the chosen token goes
                continue
            token = choose(tokens, outputs[1].logits)
            self.lookup.append(token)
            produced += 1
            yield token, outputs[1]


def measure_draft_cost(decoder: Decoder, vocab_size: int, context: int = 32, pairs: int = 5) -> float:
    """A two-token pass's time over a one-token pass's, at `context` cached positions: the median of
    `pairs` ratios, each of two passes run back to back (a busy machine slows both alike), after one pair
    to warm up."""
    ids = (np.arange(context + 2, dtype=np.int64) * 7919) % vocab_size
    decoder.forward(ids[:context])
    ratios = []
    for pair in range(pairs + 1):
        seconds = {}
        for n in (1, 2) if pair % 2 else (2, 1):
            start = time.perf_counter()
            decoder.forward(ids[context : context + n], keep=n)
            seconds[n] = time.perf_counter() - start
            decoder.rewind(context)
        if pair > 0:
            ratios.append(seconds[2] / seconds[1])
    return float(np.median(ratios))
