"""A Llama-family GGUF: its settings checked against what `NumpyDecoder` implements, then its weights
de-quantized to float32 (gguf-py's numpy quants) and laid out once for the decoder.

Anything the decoder does not compute (another architecture, rope scaling, mixture of experts,
biases, partial rotary, a quantisation type gguf-py cannot de-quantize) is refused with a `GgufError`
that names it, before any weight is read.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGML_QUANT_SIZES, quants

from .gguf_file import GgufError, GgufFile, TensorInfo

Progress = Callable[[float], None]
"""Called with the share (0 to 1) of weight bytes read and converted so far."""

ARCHITECTURES = ("llama",)
"""`general.architecture` values this engine runs (llama.cpp files SmolLM2, Llama 1-3 and Mistral-style
models as `llama`)."""

_SETTINGS = frozenset(
    {
        "context_length",
        "embedding_length",
        "block_count",
        "feed_forward_length",
        "attention.head_count",
        "attention.head_count_kv",
        "attention.layer_norm_rms_epsilon",
        "attention.key_length",
        "attention.value_length",
        "rope.freq_base",
        "rope.dimension_count",
        "rope.scaling.type",
        "rope.scaling.factor",
        "rope.scale_linear",
        "vocab_size",
        "expert_count",
        "expert_used_count",
    }
)
"""`<arch>.*` keys whose meaning is known; each is checked below. Any other key is a setting the
decoder would silently ignore, so the file is refused."""


@dataclass(frozen=True)
class LlamaConfig:
    """The settings of a verified Llama-family GGUF."""

    architecture: str
    name: str
    n_layers: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    hidden_size: int
    intermediate_size: int
    vocab_size: int
    context_length: int
    rope_theta: float
    rms_eps: float
    tied: bool
    """True when the output projection is the token embedding (the file has no `output.weight`)."""
    n_params: int


def _int(metadata: dict[str, Any], key: str, default: int | None = None) -> int:
    value = metadata.get(key, default)
    if value is None:
        raise GgufError(f"the file has no {key}, which a Llama model needs")
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise GgufError(f"{key} is {value!r}; expected a non-negative integer")
    return int(value)


def _float(metadata: dict[str, Any], key: str, default: float | None = None) -> float:
    value = metadata.get(key, default)
    if value is None:
        raise GgufError(f"the file has no {key}, which a Llama model needs")
    if isinstance(value, bool) or not isinstance(value, int | float | np.number) or not np.isfinite(value):
        raise GgufError(f"{key} is {value!r}; expected a finite number")
    return float(value)


def _check_rope(metadata: dict[str, Any], arch: str, tensors: dict[str, TensorInfo]) -> None:
    scaling = metadata.get(f"{arch}.rope.scaling.type", "none")
    if scaling != "none":
        raise GgufError(f"rope scaling {scaling!r} ({arch}.rope.scaling.type) is not implemented")
    for key in (f"{arch}.rope.scaling.factor", f"{arch}.rope.scale_linear"):
        factor = metadata.get(key)
        if factor not in (None, 0.0, 1.0):
            raise GgufError(f"rope scaling by {factor!r} ({key}) is not implemented")
    if "rope_freqs.weight" in tensors:
        raise GgufError(
            "rope scaling per frequency (tensor rope_freqs.weight, as Llama 3.1) is not implemented"
        )


def _check_tensors(tensors: dict[str, TensorInfo], shapes: dict[str, tuple[int, ...]]) -> None:
    unexpected = sorted(set(tensors) - set(shapes) - {"output.weight"})
    if unexpected:
        listed = ", ".join(unexpected[:4]) + (" ..." if len(unexpected) > 4 else "")
        raise GgufError(f"tensors {listed} are not part of the Llama blocks this engine computes")
    for name, shape in shapes.items():
        info = tensors.get(name)
        if info is None:
            raise GgufError(f"tensor {name} is missing")
        if info.shape != shape:
            raise GgufError(f"tensor {name} has shape {info.shape}; the settings make it {shape}")
    for qtype in sorted({info.qtype for info in tensors.values()}):
        type_size = GGML_QUANT_SIZES[qtype][1]
        try:  # one block of zeros: gguf-py's own answer to whether it de-quantizes this type
            quants.dequantize(np.zeros((1, type_size), dtype=np.uint8), qtype)
        except NotImplementedError:
            names = [info.name for info in tensors.values() if info.qtype == qtype]
            raise GgufError(
                f"quantisation type {qtype.name} (tensor {names[0]}) cannot be de-quantized by gguf-py"
            ) from None


def read_config(gguf: GgufFile) -> LlamaConfig:
    """Check every setting and tensor of `gguf` against what the decoder implements."""
    metadata, tensors = gguf.metadata, gguf.tensors
    arch = metadata.get("general.architecture")
    if arch not in ARCHITECTURES:
        raise GgufError(
            f"architecture {arch!r} is not supported by the numpy engine (it runs {', '.join(ARCHITECTURES)})"
        )
    prefix = f"{arch}."
    unknown = sorted(k for k in metadata if k.startswith(prefix) and k[len(prefix) :] not in _SETTINGS)
    if unknown:
        raise GgufError(f"setting {unknown[0]} is not implemented by the numpy engine")
    if _int(metadata, f"{arch}.expert_count", 0) > 0:
        raise GgufError(f"mixture of experts ({arch}.expert_count) is not implemented")
    _check_rope(metadata, arch, tensors)
    n_layers = _int(metadata, f"{arch}.block_count")
    hidden = _int(metadata, f"{arch}.embedding_length")
    n_heads = _int(metadata, f"{arch}.attention.head_count")
    n_kv_heads = _int(metadata, f"{arch}.attention.head_count_kv", n_heads)
    if n_layers == 0 or n_heads == 0 or n_kv_heads == 0 or n_heads % n_kv_heads:
        raise GgufError(f"{n_layers} layers of {n_heads} heads over {n_kv_heads} kv heads is not a Llama")
    head_dim = _int(metadata, f"{arch}.attention.key_length", hidden // n_heads)
    if _int(metadata, f"{arch}.attention.value_length", head_dim) != head_dim:
        raise GgufError("values and keys of different sizes are not implemented")
    rotary = _int(metadata, f"{arch}.rope.dimension_count", head_dim)
    if rotary != head_dim or head_dim % 2:
        raise GgufError(f"rope over {rotary} of {head_dim} head dimensions is not implemented")
    embed = tensors.get("token_embd.weight")
    if embed is None or len(embed.shape) != 2:
        raise GgufError("tensor token_embd.weight is missing")
    vocab = embed.shape[0]
    if _int(metadata, f"{arch}.vocab_size", vocab) != vocab:
        raise GgufError(f"{arch}.vocab_size differs from the {vocab} rows of token_embd.weight")
    ff = _int(metadata, f"{arch}.feed_forward_length")
    q, kv = n_heads * head_dim, n_kv_heads * head_dim
    block = {
        "attn_norm": (hidden,),
        "attn_q": (q, hidden),
        "attn_k": (kv, hidden),
        "attn_v": (kv, hidden),
        "attn_output": (hidden, q),
        "ffn_norm": (hidden,),
        "ffn_gate": (ff, hidden),
        "ffn_up": (ff, hidden),
        "ffn_down": (hidden, ff),
    }
    shapes = {"token_embd.weight": (vocab, hidden), "output_norm.weight": (hidden,)}
    for i in range(n_layers):
        shapes.update({f"blk.{i}.{name}.weight": shape for name, shape in block.items()})
    tied = "output.weight" not in tensors
    if not tied:
        shapes["output.weight"] = (vocab, hidden)
    _check_tensors(tensors, shapes)
    name = metadata.get("general.name")
    return LlamaConfig(
        architecture=arch,
        name=name if isinstance(name, str) else gguf.path.stem,
        n_layers=n_layers,
        n_heads=n_heads,
        n_kv_heads=n_kv_heads,
        head_dim=head_dim,
        hidden_size=hidden,
        intermediate_size=ff,
        vocab_size=vocab,
        context_length=_int(metadata, f"{arch}.context_length"),
        rope_theta=_float(metadata, f"{arch}.rope.freq_base", 10000.0),
        rms_eps=_float(metadata, f"{arch}.attention.layer_norm_rms_epsilon"),
        tied=tied,
        n_params=sum(int(np.prod(shape)) for shape in shapes.values()),
    )


@dataclass(frozen=True)
class Layer:
    """One block's weights, float32, each matrix (out, in) as in `nn.Linear` and in the file, laid out by
    `matrix` for one-token products."""

    attn_norm: np.ndarray  # (hidden,)
    qkv: np.ndarray  # (q + 2 kv, hidden): q, k and v projections fused
    o: np.ndarray  # (hidden, q)
    ffn_norm: np.ndarray  # (hidden,)
    gate_up: np.ndarray  # (2 ff, hidden): gate and up projections fused
    down: np.ndarray  # (hidden, ff)


@dataclass(frozen=True)
class LlamaWeights:
    config: LlamaConfig
    embed: np.ndarray  # (vocab, hidden), laid out by `matrix`
    lm_head: np.ndarray  # (vocab, hidden): `embed` itself when tied
    final_norm: np.ndarray  # (hidden,)
    layers: list[Layer]
    inv_freq: np.ndarray  # (head_dim / 2,): rope frequencies, as transformers computes them


def unpermute_rows(n_rows: int, n_heads: int) -> np.ndarray:
    """Where each GGUF row of q or k goes in transformers' layout.

    llama.cpp's converter interleaves each head's rows so its rope can rotate adjacent pairs;
    transformers' GGUF loader undoes that (`_reverse_permute_weights`) so `rotate_half` pairs row i
    with row i + head_dim / 2. Row r of the file is row `unpermute_rows(...)[r]` of the model.
    """
    half = n_rows // n_heads // 2
    # transformers: hf = gguf.reshape(heads, half, 2, -1).swapaxes(2, 1), i.e. hf[i] = gguf[order[i]]
    order = np.arange(n_rows).reshape(n_heads, half, 2).swapaxes(2, 1).reshape(-1)
    return np.argsort(order)


def matrix(out: int, inputs: int) -> np.ndarray:
    """An empty float32 (out, in) matrix in the layout its one-token products read fastest.

    With at least as many outputs as inputs, the transposed view of a C-contiguous (in, out) array: a
    product with one row of activations streams through the weights adding scaled rows, where (out, in)
    rows would be one short dot product each (which BLAS does markedly slower); with fewer outputs (the
    MLP's down projection), C-contiguous rows, whose long dot products are the faster way."""
    if out >= inputs:
        return np.empty((inputs, out), dtype=np.float32).T
    return np.empty((out, inputs), dtype=np.float32)


LOAD_THREADS = min(4, os.cpu_count() or 1)
"""Threads that de-quantize at once."""

CHUNK_SHARE = 1 / 64
"""Largest share of the weight bytes de-quantized in one piece: progress moves in steps this small,
and a piece's float32 copy stays a few MB."""


@dataclass(frozen=True)
class _Piece:
    info: TensorInfo
    rows: slice
    """Rows of the tensor in this piece (quantisation blocks run along rows, so any row range works)."""
    target: np.ndarray
    """The array (or rows of one) the piece's rows are written to."""
    order: np.ndarray | None
    """Target row of each row of the tensor (q and k are un-permuted), or None for the same rows."""

    @property
    def n_bytes(self) -> int:
        return self.info.n_bytes // self.info.shape[0] * (self.rows.stop - self.rows.start)


def _pieces(info: TensorInfo, target: np.ndarray, order: np.ndarray | None, max_bytes: int) -> list[_Piece]:
    rows = info.shape[0]
    per_row = info.n_bytes // rows
    step = max(1, max_bytes // per_row)
    return [_Piece(info, slice(r, min(r + step, rows)), target, order) for r in range(0, rows, step)]


def _dequantize(buffer: Any, piece: _Piece) -> None:
    info = piece.info
    per_row = info.n_bytes // info.shape[0]
    n_rows = piece.rows.stop - piece.rows.start
    raw = np.frombuffer(
        buffer, dtype=np.uint8, count=per_row * n_rows, offset=info.offset + per_row * piece.rows.start
    )
    rows = piece.rows if piece.order is None else piece.order[piece.rows]
    try:  # F32 "de-quantizes" to a view of the file: nothing may keep it once the file is closed
        piece.target[rows] = quants.dequantize(raw.reshape(n_rows, per_row), info.qtype).reshape(
            n_rows, *info.shape[1:]
        )
    finally:
        del raw
    if not np.isfinite(piece.target[rows]).all():
        raise GgufError(f"the file is corrupt: tensor {info.name} has values that are not finite numbers")


def load_weights(gguf: GgufFile, config: LlamaConfig, progress: Progress | None = None) -> LlamaWeights:
    """De-quantize every tensor of a verified file to float32, in the decoder's layout.

    `progress(share)` is called as pieces of at most `CHUNK_SHARE` of the weight bytes are converted,
    ending with 1.0.
    """
    c = config
    q, kv, ff = c.n_heads * c.head_dim, c.n_kv_heads * c.head_dim, c.intermediate_size
    t = gguf.tensors
    total = sum(info.n_bytes for info in t.values())
    max_bytes = max(1, int(total * CHUNK_SHARE))
    pieces: list[_Piece] = []

    def add(name: str, target: np.ndarray, order: np.ndarray | None = None) -> None:
        pieces.extend(_pieces(t[name], target, order, max_bytes))

    embed = matrix(c.vocab_size, c.hidden_size)
    add("token_embd.weight", embed)
    lm_head = embed
    if not c.tied:
        lm_head = matrix(c.vocab_size, c.hidden_size)
        add("output.weight", lm_head)
    final_norm = np.empty(c.hidden_size, dtype=np.float32)
    add("output_norm.weight", final_norm)
    q_order, k_order = unpermute_rows(q, c.n_heads), unpermute_rows(kv, c.n_kv_heads)
    layers = []
    for i in range(c.n_layers):
        layer = Layer(
            attn_norm=np.empty(c.hidden_size, dtype=np.float32),
            qkv=matrix(q + 2 * kv, c.hidden_size),
            o=matrix(c.hidden_size, q),
            ffn_norm=np.empty(c.hidden_size, dtype=np.float32),
            gate_up=matrix(2 * ff, c.hidden_size),
            down=matrix(c.hidden_size, ff),
        )
        add(f"blk.{i}.attn_norm.weight", layer.attn_norm)
        add(f"blk.{i}.attn_q.weight", layer.qkv[:q], q_order)
        add(f"blk.{i}.attn_k.weight", layer.qkv[q : q + kv], k_order)
        add(f"blk.{i}.attn_v.weight", layer.qkv[q + kv :])
        add(f"blk.{i}.attn_output.weight", layer.o)
        add(f"blk.{i}.ffn_norm.weight", layer.ffn_norm)
        add(f"blk.{i}.ffn_gate.weight", layer.gate_up[:ff])
        add(f"blk.{i}.ffn_up.weight", layer.gate_up[ff:])
        add(f"blk.{i}.ffn_down.weight", layer.down)
        layers.append(layer)

    done = 0
    reported = 0.0
    # numpy releases the GIL inside each array operation, so pieces de-quantize on every core.
    with gguf.tensor_bytes() as buffer, ThreadPoolExecutor(LOAD_THREADS) as pool:
        futures = [pool.submit(_dequantize, buffer, piece) for piece in pieces]
        try:
            for piece, future in zip(pieces, futures, strict=True):
                future.result()
                done += piece.n_bytes
                share = done / total
                if progress is not None and (share - reported >= CHUNK_SHARE or done == total):
                    progress(share)
                    reported = share
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    inv_freq = 1.0 / (
        np.float32(c.rope_theta) ** (np.arange(0, c.head_dim, 2, dtype=np.float32) / np.float32(c.head_dim))
    )
    return LlamaWeights(c, embed, lm_head, final_norm, layers, inv_freq.astype(np.float32))


def load_gguf(path: str | Path, progress: Progress | None = None) -> LlamaWeights:
    """Read, verify and de-quantize a Llama-family GGUF (`GgufError` when it cannot run here)."""
    gguf = GgufFile.read(path)
    return load_weights(gguf, read_config(gguf), progress)


__all__ = [
    "ARCHITECTURES",
    "GgufError",
    "Layer",
    "LlamaConfig",
    "LlamaWeights",
    "Progress",
    "load_gguf",
    "load_weights",
    "matrix",
    "read_config",
    "unpermute_rows",
]
