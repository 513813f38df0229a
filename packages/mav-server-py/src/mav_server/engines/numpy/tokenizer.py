"""The tokenizer a GGUF describes, built with `tokenizers` from the file's own vocabulary, merges, token
types and special token ids, the way transformers' GGUF loader builds it (so both give the same ids).

GGUF files of byte-level BPE vocabularies (`tokenizer.ggml.model` "gpt2": SmolLM2, Llama 3, Mistral
Nemo...) are supported; SentencePiece vocabularies ("llama") and the rest are refused by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tokenizers import AddedToken, Regex, Tokenizer, decoders, pre_tokenizers, processors
from tokenizers.models import BPE

from .chat_template import render_chat
from .gguf_file import GgufError, GgufFile

CONTROL, USER_DEFINED = 3, 4
"""llama.cpp's token types (`tokenizer.ggml.token_type`) that become added tokens."""

_LLAMA3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_TEKKEN_SPLIT = (
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+"
    r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*"
    r"|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_GPT4O_SPLIT = (
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
SPLITS = {
    **dict.fromkeys(
        ("llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2"),
        _LLAMA3_SPLIT,
    ),
    **dict.fromkeys(
        ("jina-v5-nano", "dbrx", "smaug-bpe"),
        _LLAMA3_SPLIT,
    ),
    "tekken": _TEKKEN_SPLIT,
    **dict.fromkeys(("qwen2", "deepseek-r1-qwen", "megrez"), _QWEN2_SPLIT),
    **dict.fromkeys(("gpt-4o", "llama4", "minimax-m2"), _GPT4O_SPLIT),
}
"""`tokenizer.ggml.pre` values whose words are split by their own pattern before byte-level BPE (the
patterns transformers' GGUF loader uses); every other value splits as GPT-2 does."""

NAMED_SPECIAL = {
    "bos_token": "tokenizer.ggml.bos_token_id",
    "eos_token": "tokenizer.ggml.eos_token_id",
    "unk_token": "tokenizer.ggml.unknown_token_id",
    "pad_token": "tokenizer.ggml.padding_token_id",
}
"""The special tokens chat templates see by name (as transformers' `special_tokens_map`)."""


def byte_alphabet() -> dict[int, str]:
    """GPT-2's byte-level spelling: each byte as one printable character (printable Latin-1 bytes as
    themselves, the rest shifted past 255), so any byte string is a string of vocabulary characters."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    spelling = {b: chr(b) for b in [*printable, *range(ord("®"), ord("ÿ") + 1)]}
    shifted = 0
    for b in range(256):
        if b not in spelling:
            spelling[b] = chr(256 + shifted)
            shifted += 1
    return spelling


def _strings(metadata: Mapping[str, Any], key: str) -> list[str]:
    value = metadata.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise GgufError(f"the file's {key} is missing or not a list of strings")
    return value


def build_tokenizer(metadata: Mapping[str, Any]) -> tuple[Tokenizer, dict[str, str]]:
    """The `tokenizers` tokenizer of a GGUF's metadata, and its named special tokens."""
    model = metadata.get("tokenizer.ggml.model")
    if model != "gpt2":
        raise GgufError(
            f"tokenizer model {model!r} (tokenizer.ggml.model) is not supported by the numpy engine "
            "(it builds byte-level BPE tokenizers, 'gpt2')"
        )
    tokens = _strings(metadata, "tokenizer.ggml.tokens")
    merges = _strings(metadata, "tokenizer.ggml.merges")
    types = metadata.get("tokenizer.ggml.token_type")
    types = [] if types is None else [int(t) for t in types]
    if types and len(types) != len(tokens):
        raise GgufError(f"the file has {len(tokens)} tokens but {len(types)} token types")
    spelling = byte_alphabet()
    alphabet = set(spelling.values())
    # Tokens written in raw text (outside the byte alphabet) are respelled byte by byte.
    vocab = {
        token if set(token) <= alphabet else "".join(spelling[b] for b in token.encode("utf-8")): index
        for index, token in enumerate(tokens)
    }
    pairs = []
    for merge in merges:
        pair = tuple(merge.split(" "))
        if len(pair) != 2:
            raise GgufError(f"the file's merge {merge!r} is not two tokens separated by a space")
        pairs.append(pair)
    tokenizer = Tokenizer(
        BPE(vocab, pairs, dropout=None, continuing_subword_prefix="", end_of_word_suffix="", fuse_unk=False)
    )
    split = SPLITS.get(metadata.get("tokenizer.ggml.pre"))
    if split is None:
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    else:
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(split), behavior="isolated"),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
    tokenizer.decoder = decoders.ByteLevel()

    named: dict[str, str] = {}
    for name, key in NAMED_SPECIAL.items():
        token_id = metadata.get(key)
        if token_id is not None:
            if not 0 <= int(token_id) < len(tokens):
                raise GgufError(f"{key} is {token_id}, outside the {len(tokens)}-token vocabulary")
            named[name] = tokens[int(token_id)]
    # Control tokens stay whole and are special; a control token outside the byte alphabet is a
    # mislabel in llama.cpp's converter (transformers skips it too).
    special = [t for t, kind in zip(tokens, types, strict=False) if kind == CONTROL and set(t) <= alphabet]
    special += [t for t in named.values() if t not in special]
    tokenizer.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in special])
    user = [t for t, kind in zip(tokens, types, strict=False) if kind == USER_DEFINED and t in vocab]
    if user:
        tokenizer.add_tokens([AddedToken(t, normalized=False, special=False) for t in user])

    add_bos = bool(metadata.get("tokenizer.ggml.add_bos_token", False)) and "bos_token" in named
    add_eos = bool(metadata.get("tokenizer.ggml.add_eos_token", False)) and "eos_token" in named
    bos, eos = named.get("bos_token"), named.get("eos_token")
    single = " ".join([*([f"{bos}:0"] if add_bos else []), "$A:0", *([f"{eos}:0"] if add_eos else [])])
    pair = " ".join([single, *([f"{bos}:1"] if add_bos else []), "$B:1", *([f"{eos}:1"] if add_eos else [])])
    ends = [(t, vocab.get(t, tokenizer.token_to_id(t))) for t, on in ((bos, add_bos), (eos, add_eos)) if on]
    tokenizer.post_processor = processors.TemplateProcessing(single=single, pair=pair, special_tokens=ends)
    return tokenizer, named


END_TOKENS = ("<|endoftext|>", "<|im_end|>", "</s>", "<|eot_id|>", "<|end_of_text|>", "<end_of_turn>")
"""Special tokens that end a text or a turn in common vocabularies (as `mav_server.models`)."""


class GgufTokenizer:
    """Encode, decode and chat templates of a GGUF's own tokenizer.

    `encode`/`decode` give transformers' `AutoTokenizer.from_pretrained(dir, gguf_file=...)` ids and
    text; `apply_chat_template` gives its `apply_chat_template(..., tokenize=False)` text.
    """

    def __init__(self, metadata: Mapping[str, Any]) -> None:
        self.tokenizer, self.special_tokens_map = build_tokenizer(metadata)
        template = metadata.get("tokenizer.chat_template")
        self.chat_template: str | None = template if isinstance(template, str) and template else None
        ids = {name: self.tokenizer.token_to_id(token) for name, token in self.special_tokens_map.items()}
        self.bos_token_id: int | None = ids.get("bos_token")
        self.eos_token_id: int | None = ids.get("eos_token")
        self.pad_token_id: int | None = ids.get("pad_token")
        self.unk_token_id: int | None = ids.get("unk_token")
        added = self.tokenizer.get_added_tokens_decoder()
        self.special_ids = frozenset(i for i, token in added.items() if token.special)
        """Ids of every special token (`decode(..., skip_special_tokens=True)` leaves these out)."""
        names = {token.content: i for i, token in added.items()}
        end = {names[t] for t in END_TOKENS if t in names}
        self.end_ids = frozenset(end | ({self.eos_token_id} if self.eos_token_id is not None else set()))
        """Ids that end generation: the eos token and the common end-of-text/turn tokens it has."""
        self.vocab_size = self.tokenizer.get_vocab_size(with_added_tokens=True)

    @classmethod
    def from_gguf(cls, gguf: GgufFile) -> GgufTokenizer:
        return cls(gguf.metadata)

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=add_special_tokens).ids

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = False) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=skip_special_tokens)

    def apply_chat_template(
        self, messages: Sequence[Mapping[str, Any]], add_generation_prompt: bool = True
    ) -> str:
        if self.chat_template is None:
            raise ValueError("this model's GGUF has no chat template (tokenizer.chat_template)")
        return render_chat(
            self.chat_template, messages, self.special_tokens_map, add_generation_prompt=add_generation_prompt
        )
