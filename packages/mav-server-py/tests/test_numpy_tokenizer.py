"""The numpy engine's tokenizer, built from the bundled GGUF's own vocabulary, gives transformers'
`AutoTokenizer.from_pretrained(dir, gguf_file=...)` ids, text and chat prompts."""

from __future__ import annotations

from typing import Any

import pytest

from mav_server.config import BUNDLED_MODEL_ID
from mav_server.engines.numpy import GgufTokenizer
from mav_server.models import ModelRegistry

TEXTS = [
    "Hello world",
    "The capital of France is",
    "  leading spaces, runs of    spaces\n\n\ttabs\r\nand a trailing space ",
    "héllo naïve café — “quotes” \u2018single\u2019 «guillemets»",
    "emoji 🙂👍🏽 and a family 👨‍👩‍👧 and flags 🇫🇷",
    "中文测试\uff0c日本語のテキスト、한국어 문장",
    "numbers 2024 3.14159 1,000,000 007",
    "<|im_start|>user\nhi<|im_end|>\n<|endoftext|>",
    "<repo_name>a<file_sep>b<|im_start|",  # special tokens inside text, and one cut short
    "I'm sure we'll see they've DON'T",
    "def f(x):\n    return x ** 2  # squared\n",
    "nbsp\u00a0zero\u200bwidth\ufeffbom \x00\x01\x7f controls",
    "",
    " ",
    "\n\n\n",
    "a" * 500,
    "The quick brown fox jumps over the lazy dog. " * 150,
]


@pytest.fixture(scope="module")
def ours(numpy_registry: ModelRegistry) -> GgufTokenizer:
    tokenizer = numpy_registry.tokenizer(BUNDLED_MODEL_ID)  # the numpy engine's, before any weights
    assert isinstance(tokenizer, GgufTokenizer)
    return tokenizer


@pytest.fixture(scope="module")
def theirs(smol_registry: ModelRegistry) -> Any:
    return smol_registry.tokenizer(BUNDLED_MODEL_ID).hf  # the torch engine's: transformers' own


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_ids_and_text_equal_transformers(ours: GgufTokenizer, theirs: Any, text: str) -> None:
    for special in (True, False):
        assert (
            ours.encode(text, add_special_tokens=special)
            == theirs(text, add_special_tokens=special)["input_ids"]
        )
    ids = ours.encode(text)
    for skip in (False, True):
        assert ours.decode(ids, skip_special_tokens=skip) == theirs.decode(
            ids, skip_special_tokens=skip, clean_up_tokenization_spaces=False
        )
    assert ours.decode(ids) == text  # byte-level BPE round-trips any text


def test_each_token_decodes_as_transformers_decodes_it(ours: GgufTokenizer, theirs: Any) -> None:
    ids = [*range(0, 300), *range(300, ours.vocab_size, 97)]
    assert [ours.decode([i]) for i in ids] == [
        theirs.decode([i], skip_special_tokens=False, clean_up_tokenization_spaces=False) for i in ids
    ]


CHATS = [
    [{"role": "user", "content": "What is 2+2?"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Wie spät ist es? 🙂"}],
    [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "  spaces\n\tand <|im_end|> inside  "},
    ],
]


@pytest.mark.parametrize("messages", CHATS, ids=range(len(CHATS)))
def test_chat_prompts_equal_transformers(
    ours: GgufTokenizer, theirs: Any, messages: list[dict[str, str]]
) -> None:
    assert ours.chat_template == theirs.chat_template
    for generation in (True, False):
        text = ours.apply_chat_template(messages, add_generation_prompt=generation)
        assert text == theirs.apply_chat_template(messages, add_generation_prompt=generation, tokenize=False)
        assert (
            ours.encode(text, add_special_tokens=False) == theirs(text, add_special_tokens=False)["input_ids"]
        )


def test_special_and_end_tokens(ours: GgufTokenizer, theirs: Any) -> None:
    assert (ours.bos_token_id, ours.eos_token_id, ours.pad_token_id, ours.unk_token_id) == (
        theirs.bos_token_id,
        theirs.eos_token_id,
        theirs.pad_token_id,
        theirs.unk_token_id,
    )
    assert ours.special_tokens_map == theirs.special_tokens_map
    assert ours.end_ids == {theirs.convert_tokens_to_ids(t) for t in ("<|endoftext|>", "<|im_end|>")}
    assert ours.special_ids == set(theirs.added_tokens_decoder)
    assert ours.vocab_size == len(theirs)


def test_chat_templates_raise_as_transformers_templates_do(ours: GgufTokenizer) -> None:
    from jinja2.exceptions import SecurityError, TemplateError

    from mav_server.engines.numpy.chat_template import render_chat

    special = ours.special_tokens_map
    raising = "{{ raise_exception('only user and assistant roles') }}"
    with pytest.raises(TemplateError, match="only user and assistant roles"):
        render_chat(raising, [{"role": "user", "content": "x"}], special)
    escape = "{{ messages.__class__.__mro__ }}"
    with pytest.raises(SecurityError):
        render_chat(escape, [{"role": "user", "content": "x"}], special)
    with pytest.raises(SecurityError):
        render_chat("{% set ns = namespace(_x=1) %}", [{"role": "user", "content": "x"}], special)
    tags = "{% for m in messages %}{% generation %}{{ m.content | tojson }}{% endgeneration %}{% endfor %}"
    assert render_chat(tags, [{"role": "user", "content": "<é>"}], special) == '"<é>"'
    with pytest.raises(ValueError, match="empty conversation"):
        render_chat(tags, [], special)
