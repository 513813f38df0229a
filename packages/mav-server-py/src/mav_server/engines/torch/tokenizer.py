"""A transformers tokenizer as the core's `Tokenizer`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class HFTokenizer:
    """Wraps a transformers tokenizer (`hf`): decoding never cleans up spaces, chat templates render
    to text."""

    def __init__(self, hf: Any) -> None:
        if hf.pad_token is None:
            hf.pad_token = hf.eos_token or hf.unk_token
        self.hf = hf

    @property
    def chat_template(self) -> str | None:
        return getattr(self.hf, "chat_template", None) or None

    def encode(self, text: str, *, add_special_tokens: bool = True) -> list[int]:
        return list(self.hf(text, add_special_tokens=add_special_tokens)["input_ids"])

    def decode(self, ids: Sequence[int], *, skip_special_tokens: bool = False) -> str:
        return self.hf.decode(
            list(ids), skip_special_tokens=skip_special_tokens, clean_up_tokenization_spaces=False
        )

    def apply_chat_template(self, messages: list[dict[str, str]], *, add_generation_prompt: bool) -> str:
        return self.hf.apply_chat_template(
            messages, add_generation_prompt=add_generation_prompt, tokenize=False
        )
