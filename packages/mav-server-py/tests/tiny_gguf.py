"""Small Llama GGUF files written with gguf-py's own `GGUFWriter`, for the numpy engine's tests: a valid
one (grouped-query attention, untied output, several quantisation types, a byte-level BPE vocabulary)
and variations of it that the loader must refuse."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGMLQuantizationType, GGUFWriter, quants

Q = GGMLQuantizationType

LAYERS, HIDDEN, HEADS, KV_HEADS, FF, CONTEXT = 2, 64, 4, 2, 96, 64
HEAD_DIM = HIDDEN // HEADS


def byte_vocab() -> tuple[list[str], list[str], list[int]]:
    """A byte-level BPE vocabulary: the 256 byte characters, a few merges, and three special tokens."""
    from mav_server.engines.numpy.tokenizer import byte_alphabet

    spelling = byte_alphabet()
    tokens = [spelling[b] for b in range(256)]
    merges = ["Ġ t", "h e", "Ġt he", "i n", "Ġ a", "e r", "o n", "Ġ s"]
    tokens += [m.replace(" ", "") for m in merges]
    types = [1] * len(tokens)
    tokens += ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>"]
    types += [3, 3, 3, 4]  # control, control, control, user-defined
    return tokens, merges, types


TOKENS, MERGES, TOKEN_TYPES = byte_vocab()
VOCAB = len(TOKENS)


def _add(writer: GGUFWriter, key: str, value: Any) -> None:
    if isinstance(value, bool):
        writer.add_bool(key, value)
    elif isinstance(value, str):
        writer.add_string(key, value)
    elif isinstance(value, float):
        writer.add_float32(key, value)
    else:
        writer.add_uint32(key, int(value))


def tensors(seed: int = 0, tied: bool = False) -> dict[str, tuple[np.ndarray, Q]]:
    """Random weights, each with the type it is stored as (several, to exercise gguf-py's de-quantizers)."""
    rng = np.random.default_rng(seed)

    def w(*shape: int, scale: float = 0.2) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    out = {
        "token_embd.weight": (w(VOCAB, HIDDEN, scale=1.0), Q.Q8_0),
        "output_norm.weight": (1 + w(HIDDEN, scale=0.1), Q.F32),
    }
    if not tied:
        out["output.weight"] = (w(VOCAB, HIDDEN), Q.Q4_1)
    for i in range(LAYERS):
        out |= {
            f"blk.{i}.attn_norm.weight": (1 + w(HIDDEN, scale=0.1), Q.F32),
            f"blk.{i}.attn_q.weight": (w(HEADS * HEAD_DIM, HIDDEN), Q.Q4_0),
            f"blk.{i}.attn_k.weight": (w(KV_HEADS * HEAD_DIM, HIDDEN), Q.Q5_1),
            f"blk.{i}.attn_v.weight": (w(KV_HEADS * HEAD_DIM, HIDDEN), Q.F16),
            f"blk.{i}.attn_output.weight": (w(HIDDEN, HEADS * HEAD_DIM), Q.Q8_0),
            f"blk.{i}.ffn_norm.weight": (1 + w(HIDDEN, scale=0.1), Q.F32),
            f"blk.{i}.ffn_gate.weight": (w(FF, HIDDEN), Q.Q4_1),
            f"blk.{i}.ffn_up.weight": (w(FF, HIDDEN), Q.Q5_0),
            f"blk.{i}.ffn_down.weight": (w(HIDDEN, FF), Q.Q8_0),
        }
    return out


def write_tiny_llama(
    path: Path,
    *,
    arch: str = "llama",
    tied: bool = False,
    settings: Mapping[str, Any] | None = None,
    weights: Mapping[str, tuple[np.ndarray, Q]] | None = None,
    tokenizer: Mapping[str, Any] | None = None,
) -> Path:
    """Write a 2-layer Llama GGUF; `settings` adds or overrides metadata (`None` values drop a key),
    `weights` replaces the tensors, `tokenizer` overrides tokenizer metadata."""
    metadata: dict[str, Any] = {
        f"{arch}.block_count": LAYERS,
        f"{arch}.context_length": CONTEXT,
        f"{arch}.embedding_length": HIDDEN,
        f"{arch}.feed_forward_length": FF,
        f"{arch}.attention.head_count": HEADS,
        f"{arch}.attention.head_count_kv": KV_HEADS,
        f"{arch}.rope.freq_base": 10000.0,
        f"{arch}.attention.layer_norm_rms_epsilon": 1e-5,
        f"{arch}.rope.dimension_count": HEAD_DIM,
        f"{arch}.vocab_size": VOCAB,
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.pre": "llama-bpe",
        "tokenizer.ggml.bos_token_id": VOCAB - 3,
        "tokenizer.ggml.eos_token_id": VOCAB - 2,
        "tokenizer.ggml.add_bos_token": True,
        "tokenizer.chat_template": (
            "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
            "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
        ),
        **(tokenizer or {}),
        **(settings or {}),
    }
    writer = GGUFWriter(str(path), arch)
    for key, value in metadata.items():
        if value is not None:
            _add(writer, key, value)
    writer.add_token_list(TOKENS)
    writer.add_token_merges(MERGES)
    writer.add_token_types(TOKEN_TYPES)
    for name, (array, qtype) in (weights if weights is not None else tensors(tied=tied)).items():
        if array.dtype == np.uint8:  # already bytes of `qtype` (a type gguf-py cannot quantize to)
            writer.add_tensor(name, array, raw_dtype=qtype)
        elif qtype in (Q.F32, Q.F16):
            writer.add_tensor(name, array.astype(np.float32 if qtype == Q.F32 else np.float16))
        else:
            writer.add_tensor(name, quants.quantize(array, qtype), raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
