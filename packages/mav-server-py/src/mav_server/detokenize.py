"""Incremental detokenisation: the text each new token adds, never half a character."""

from __future__ import annotations

from collections.abc import Sequence

from .engines import Tokenizer

REPLACEMENT = "\ufffd"

PROMPT_CONTEXT = 4
"""Prompt tokens decoded along with the first new ones, so that tokenizers whose decoding depends on
the preceding token (SentencePiece's leading space) produce the same text as a whole decode."""


class IncrementalDetokenizer:
    """Turns token ids into text deltas whose concatenation is the decoded text.

    Each step decodes a small window: the tokens since the last emitted boundary. When the window's
    text ends in U+FFFD, a multi-byte character is split across tokens; its bytes are held back until
    the character is complete, so no delta ever contains a replacement character from a split.
    Special tokens (such as the end token) add no text.
    """

    def __init__(self, tokenizer: Tokenizer, prompt_ids: Sequence[int]) -> None:
        self._tokenizer = tokenizer
        self._ids = list(prompt_ids[-PROMPT_CONTEXT:])
        self._prefix_offset = 0
        self._read_offset = len(self._ids)

    def _decode(self, ids: Sequence[int]) -> str:
        return self._tokenizer.decode(ids, skip_special_tokens=True)

    def add(self, token_id: int) -> str:
        self._ids.append(token_id)
        prefix = self._decode(self._ids[self._prefix_offset : self._read_offset])
        text = self._decode(self._ids[self._prefix_offset :])
        if len(text) > len(prefix) and not text.endswith(REPLACEMENT):
            self._prefix_offset = self._read_offset
            self._read_offset = len(self._ids)
            return text[len(prefix) :]
        return ""
