"""A Llama forward pass in numpy: transformers' eager `LlamaForCausalLM` math in float32, with a KV
cache preallocated for the run, returning only what the metrics read (the newest positions' logits,
hidden states and attention rows). The torch counterpart is `mav_server.decode_llama`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from .weights import LlamaWeights

PROMPT_CHUNK = 512
"""Most tokens per pass: a pass holds one layer's scores (heads x chunk x length floats) at a time, so a
long prompt goes through in chunks."""

SCORES_BYTES = 64 * 2**20
"""Most bytes of one layer's scores in a pass: late in a long context, chunks get shorter than
`PROMPT_CHUNK` so that memory stays bounded whatever the length."""


@dataclass(frozen=True)
class Outputs:
    """One position of a forward pass (the newest, or one of the last few)."""

    logits: np.ndarray
    """(1, vocab)."""
    hidden_states: np.ndarray
    """(layers + 1, hidden): the embeddings, each block's output, the last one after the final norm (as
    transformers' `output_hidden_states`)."""
    attentions: np.ndarray
    """(layers, heads, position + 1): each layer's attention row for this position."""


FEW_TOKENS = 4
"""Passes of up to this many tokens (a token and its guesses) multiply block by block."""

BLOCK_ROWS = 256
"""Weight rows per block: a block stays in the CPU's cache while each token's product reads it."""


def linear(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """`x @ w.T` for x (n, in) and w (out, in), the layout of `nn.Linear` and of GGUF rows, stored as
    `weights.matrix` lays it out: C-contiguous rows, or the transposed view of an (in, out) array."""
    n = x.shape[0]
    if n == 1:  # one token: a matrix-vector product reading each weight once, in order
        return (w @ x[0])[None]
    if n <= FEW_TOKENS:
        y = np.empty((n, w.shape[0]), dtype=np.float32)
        if not w.flags.c_contiguous:
            # (in, out) storage: BLAS's GEMM would first copy the whole matrix into panels, and blocks of
            # it are strided; one matrix-vector product per token streams it.
            for i in range(n):
                np.matmul(w, x[i], out=y[i])
            return y
        # BLAS's GEMM would copy the whole matrix into panels first; a few matrix-vector products per
        # cached block read each weight from memory once.
        for r in range(0, w.shape[0], BLOCK_ROWS):
            block = w[r : r + BLOCK_ROWS]
            for i in range(n):
                np.matmul(block, x[i], out=y[i, r : r + BLOCK_ROWS])
        return y
    return (w @ x.T).T  # BLAS is slow when the token count is the GEMM's (small) first dimension


BLAS_THREADS = 1
"""BLAS threads per pass. A one-token pass is bound by memory, not arithmetic, and runs are concurrent:
a thread pool per pass oversubscribes the cores, and on a shared or busy machine every pool sync then
waits for a time slice (several times slower per token than one thread)."""


@functools.cache
def blas() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController().select(user_api="blas")


def rms_norm(x: np.ndarray, weight: np.ndarray, eps: np.float32) -> np.ndarray:
    """`LlamaRMSNorm` for float32: x / sqrt(mean(x^2) + eps) * weight."""
    variance = np.einsum("ij,ij->i", x, x)[:, None] / np.float32(x.shape[-1])  # (n, 1)
    return x * (np.float32(1.0) / np.sqrt(variance + eps)) * weight


class NumpyDecoder:
    """One run's forward passes: a KV cache for `capacity` positions over shared `LlamaWeights`."""

    def __init__(self, weights: LlamaWeights, capacity: int) -> None:
        self.w = weights
        c = weights.config
        self.capacity = capacity
        self.length = 0
        self.eps = np.float32(c.rms_eps)
        self.scaling = np.float32(c.head_dim**-0.5)
        shape = (c.n_layers, c.n_kv_heads, capacity, c.head_dim)
        self.keys = np.empty(shape, dtype=np.float32)
        self.values = np.empty(shape, dtype=np.float32)
        # `LlamaRotaryEmbedding` for every position at once, float32 as transformers computes it.
        freqs = np.arange(capacity, dtype=np.float32)[:, None] * weights.inv_freq[None, :]  # (capacity, d/2)
        emb = np.concatenate((freqs, freqs), axis=-1)  # (capacity, d)
        self.cos, sin = np.cos(emb), np.sin(emb)
        # `rotate_half(x) * sin` is `cat(-x2, x1) * sin` = `x[swap] * cat(-sin1, sin2)`: halves swapped.
        half = c.head_dim // 2
        self.signed_sin = np.concatenate((-sin[:, :half], sin[:, half:]), axis=-1)
        self.swap = np.r_[half : c.head_dim, 0:half]

    def forward(self, token_ids: np.ndarray, keep: int = 1) -> list[Outputs]:
        """Feed `token_ids` (1-D: the prompt, one new token, or a token and a draft) after what the cache
        holds; return the outputs of the last `keep` positions, oldest first.

        Long inputs go through in chunks (`PROMPT_CHUNK`, `SCORES_BYTES`); only the last returns outputs.
        """
        token_ids = np.asarray(token_ids)
        n = token_ids.shape[0]
        if token_ids.ndim != 1 or n == 0 or not np.issubdtype(token_ids.dtype, np.integer):
            raise ValueError(
                f"token_ids must be a non-empty 1-D integer array; got {token_ids.dtype} {token_ids.shape}"
            )
        if self.length + n > self.capacity:
            raise ValueError(f"the KV cache holds {self.capacity} positions; {self.length + n} were asked")
        if not 1 <= keep <= n:
            raise ValueError(f"keep must be between 1 and the {n} tokens fed; got {keep}")
        if not ((token_ids >= 0) & (token_ids < self.w.config.vocab_size)).all():
            raise ValueError(f"token ids must be in [0, {self.w.config.vocab_size})")
        fed = 0
        with blas().limit(limits=BLAS_THREADS):
            while n - fed - (chunk := self._chunk()) >= keep:  # the last chunk keeps `keep` tokens
                self._pass(token_ids[fed : fed + chunk], keep=0)
                fed += chunk
            return self._pass(token_ids[fed:], keep)

    def _chunk(self) -> int:
        """Tokens in the next chunk: `PROMPT_CHUNK`, fewer when the scores would pass `SCORES_BYTES`."""
        heads = self.w.config.n_heads
        return max(1, min(PROMPT_CHUNK, SCORES_BYTES // (4 * heads * (self.length + PROMPT_CHUNK))))

    def _pass(self, token_ids: np.ndarray, keep: int) -> list[Outputs]:
        w, c = self.w, self.w.config
        n = token_ids.shape[0]
        start, end = self.length, self.length + n
        nh, nkv, d = c.n_heads, c.n_kv_heads, c.head_dim
        q_size, kv_size = nh * d, nkv * d
        cos, signed_sin = self.cos[start:end], self.signed_sin[start:end]  # (n, d)
        future = None
        if n > 1:  # causal: query i sees the keys up to position start + i
            future = np.triu(np.ones((n, end), dtype=bool), start + 1)
        states = np.empty((c.n_layers + 1, keep, c.hidden_size), dtype=np.float32)
        rows = np.empty((c.n_layers, nh, keep, end), dtype=np.float32)

        x = w.embed[token_ids]  # (n, hidden)
        states[0] = x[n - keep :]
        for i, layer in enumerate(w.layers):
            h = rms_norm(x, layer.attn_norm, self.eps)
            qkv = linear(h, layer.qkv)  # (n, q + 2 kv)
            # Rotate q and k together: (heads + kv heads, n, d).
            qk = qkv[:, : q_size + kv_size].reshape(n, nh + nkv, d).transpose(1, 0, 2)
            qk = qk * cos + qk[..., self.swap] * signed_sin
            keys, values = self.keys[i], self.values[i]  # (kv heads, capacity, d)
            keys[:, start:end] = qk[nh:]
            values[:, start:end] = qkv[:, q_size + kv_size :].reshape(n, nkv, d).transpose(1, 0, 2)
            # Grouped-query attention without copying k/v per head: query head j * groups + r reads kv
            # head j, as transformers' `repeat_kv` arranges it.
            q = qk[:nh].reshape(nkv, (nh // nkv) * n, d)
            scores = q @ keys[:, :end].transpose(0, 2, 1)  # (kv heads, groups * n, end)
            scores *= self.scaling
            scores = scores.reshape(nh, n, end)
            if future is not None:
                scores[:, future] = -np.inf  # exp gives exact zeros, as transformers' min-float mask does
            scores -= scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores, out=scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            if keep:
                rows[i] = probs[:, n - keep :]
            out = probs.reshape(nkv, -1, end) @ values[:, :end]  # (kv heads, groups * n, d)
            out = out.reshape(nh, n, d).transpose(1, 0, 2).reshape(n, q_size)
            x = x + linear(out, layer.o)
            h = rms_norm(x, layer.ffn_norm, self.eps)
            gate_up = linear(h, layer.gate_up)  # (n, 2 ff)
            gate, up = gate_up[:, : c.intermediate_size], gate_up[:, c.intermediate_size :]
            # silu(gate) * up, in one buffer: gate / (1 + exp(-gate)) * up
            act = np.negative(gate)
            np.exp(act, out=act)
            act += np.float32(1.0)
            np.divide(gate, act, out=act)
            act *= up
            x = x + linear(act, layer.down)
            states[i + 1] = x[n - keep :]
        self.length = end
        if not keep:
            return []
        last = rms_norm(x[n - keep :], w.final_norm, self.eps)
        states[-1] = last
        logits = linear(last, w.lm_head)  # (keep, vocab)
        # Position `end - keep + j` attends to the keys up to itself: its row is cut there (the rest are
        # the mask's exact zeros), so it sums over the same keys as a one-token pass would.
        return [
            Outputs(logits[j : j + 1], states[:, j], rows[:, :, j, : end - keep + j + 1]) for j in range(keep)
        ]

    def rewind(self, length: int) -> None:
        """Forget the positions from `length` on (a draft token that was not chosen)."""
        if not 0 <= length <= self.length:
            raise ValueError(f"cannot rewind to {length}: the cache holds {self.length} positions")
        self.length = length
