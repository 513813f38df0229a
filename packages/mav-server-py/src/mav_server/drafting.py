"""Prompt lookup: guessing the next token from the text so far, for a forward pass that checks it.

A one-token step reads every weight of the model for one row of activations; on a CPU that is
memory-bound, two rows cost about the same as one. So each step feeds the token just chosen and a
guess of the token after it; when the sampler then chooses the guess, the pass has also produced the
step after it. The guess is the token that followed the latest earlier occurrence of the text's last
three tokens (or two, or one): language repeats itself, and a small model's output more so.

Nothing about the run changes but the number of passes: each token is still chosen by the sampler
from the logits of its own position, given the tokens before it, in the same order (a seeded
sampler draws the same numbers), and a guess that is not chosen is discarded with its cache entry.
"""

from __future__ import annotations

from collections.abc import Iterable

LONGEST_MATCH = 3
"""Tokens of the text's end looked up: longer matches guess better, shorter ones more often."""


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
