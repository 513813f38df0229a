"""A lean forward pass for Llama-architecture models: the same math as transformers' eager
`LlamaForCausalLM`, without its per-call machinery.

At one token per forward pass on a CPU, a 135M model spends about half of each HF forward in Python:
some 400 `nn.Module` calls, the output-capturing hooks, mask and cache objects. This module runs the
same operations on the model's own weights with q/k/v and gate/up fused into one matrix each (fewer,
larger matmuls), every matrix stored (in, out) for one-row products, a KV cache preallocated for the
whole run, and it returns only what the engine reads: the newest position's logits, hidden states and
attention rows.

It is used only for configurations checked against the HF forward (`unsupported_reason` says why
another model is not); everything else goes through the HF forward.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

SUPPORTED_CLASS = "LlamaForCausalLM"


def unsupported_reason(model: Any, device: torch.device) -> str | None:
    """Why the lean path may not run `model` (None when it may): only what the tests verify passes."""
    if type(model).__name__ != SUPPORTED_CLASS or type(model).__module__ != (
        "transformers.models.llama.modeling_llama"
    ):
        return f"model class {type(model).__name__} is not transformers' {SUPPORTED_CLASS}"
    config = model.config
    if device.type != "cpu":
        return f"device {device.type} (only CPU is verified)"
    if model.training:
        return "model is in training mode"
    if config._attn_implementation != "eager":
        return f"attention implementation {config._attn_implementation!r}, not 'eager'"
    rope = getattr(config, "rope_parameters", None) or {}
    if rope.get("rope_type", "default") != "default":
        return f"rope type {rope.get('rope_type')!r} (only 'default' is verified)"
    if getattr(model.model.rotary_emb, "attention_scaling", 1.0) != 1.0:
        return "rotary attention scaling other than 1"
    if config.hidden_act != "silu":
        return f"activation {config.hidden_act!r}, not 'silu'"
    if config.attention_bias or config.mlp_bias:
        return "attention or MLP bias"
    if getattr(config, "pretraining_tp", 1) != 1:
        return f"pretraining_tp {config.pretraining_tp}"
    if getattr(config, "tie_last_hidden_states", None) not in (None, True):
        return "tie_last_hidden_states is off (the last hidden state would be the un-normed one)"
    if getattr(config, "sliding_window", None):
        return "sliding-window attention"
    if len(model.model.layers) != config.num_hidden_layers:
        return "layer count differs from the config"
    if any(p.dtype != torch.float32 or p.device.type != "cpu" for p in model.parameters()):
        return "weights are not all float32 on the CPU"
    unknown = _unknown_module(model)
    if unknown is not None:
        return unknown
    if _has_hooks(model):
        return "forward hooks are registered on the model (the lean path would skip them)"
    return None


CAPTURING_HOOKS = "transformers.utils.output_capturing"
"""Module of the hooks transformers installs to collect `output_hidden_states`/`output_attentions`; the
lean path returns those outputs itself, so these hooks are the only ones it may skip."""

MODULE_TYPES = frozenset(
    {
        "LlamaForCausalLM",
        "LlamaModel",
        "LlamaDecoderLayer",
        "LlamaAttention",
        "LlamaMLP",
        "LlamaRMSNorm",
        "LlamaRotaryEmbedding",
        "ModuleList",
        "Linear",
        "Embedding",
        "SiLU",
        "SiLUActivation",
    }
)
"""The module types of a plain transformers Llama; anything else (quantised or patched layers) means
the model computes something this module does not."""


def _has_hooks(model: Any) -> bool:
    from torch.nn.modules import module as torch_module

    def foreign(hooks: dict[int, Any]) -> bool:
        return any(getattr(hook, "__module__", None) != CAPTURING_HOOKS for hook in hooks.values())

    if torch_module._global_forward_hooks or torch_module._global_forward_pre_hooks:
        return True
    return any(foreign(m._forward_hooks) or foreign(m._forward_pre_hooks) for m in model.modules())


def _unknown_module(model: Any) -> str | None:
    for name, module in model.named_modules():
        if type(module).__name__ not in MODULE_TYPES or type(module).__module__.split(".")[0] not in (
            "torch",
            "transformers",
        ):
            return f"module {name or 'model'} is a {type(module).__name__}"
        if "forward" in vars(module):  # e.g. accelerate's offloading wraps `forward` per instance
            return f"module {name or 'model'} has its own forward"
    return None


@dataclass(frozen=True)
class Layer:
    """One block's weights; each matrix (in, out), as `torch.mm(x, w_t)` is `F.linear(x, w)`."""

    input_norm: torch.Tensor
    input_eps: torch.Tensor
    qkv_t: torch.Tensor
    """q, k and v projections side by side: (hidden, q + 2 kv)."""
    o_t: torch.Tensor
    post_norm: torch.Tensor
    post_eps: torch.Tensor
    gate_up_t: torch.Tensor
    """gate and up projections side by side: (hidden, 2 intermediate)."""
    down_t: torch.Tensor


def scalar(value: float) -> torch.Tensor:
    """A 0-dim float32 tensor: in float32 arithmetic it gives what the float gives, cheaper per call."""
    return torch.tensor(value, dtype=torch.float32)


class LlamaWeights:
    """The model's weight matrices laid out for one-token products, q/k/v and gate/up fused, once per
    model.

    A matrix with at least as many outputs as inputs is stored transposed, (in, out) and contiguous: a
    product with one row of activations then streams through the weights adding scaled rows
    (`nn.Linear`'s (out, in) rows would be one short dot product each, which BLAS does markedly
    slower). The model's own parameters are pointed at transposed views of these tensors (the same
    values), so the layout costs no memory and the HF forward computes with exactly these numbers and
    this layout; the embedding, when tied to the unembedding, is a view of it too. `is_current`
    notices when the model's parameters were replaced since (the weights must then be laid out again).
    """

    def __init__(self, model: Any) -> None:
        config = model.config
        self.n_layers = config.num_hidden_layers
        self.n_heads = config.num_attention_heads
        self.n_kv_heads = config.num_key_value_heads
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // self.n_heads
        self.hidden_size = config.hidden_size
        self.qk_v_sizes = ((self.n_heads + self.n_kv_heads) * self.head_dim, self.n_kv_heads * self.head_dim)
        self.norm_eps = scalar(model.model.norm.variance_epsilon)
        self.norm_size = scalar(self.hidden_size)
        self.scaling = scalar(self.head_dim**-0.5)
        self.final_norm = model.model.norm.weight
        self.inv_freq = model.model.rotary_emb.inv_freq
        self._laid_out: list[tuple[torch.nn.Parameter, torch.Tensor]] = []
        self.lm_head_t = self._transpose([model.lm_head.weight])
        # Tied: the embedding is the unembedding's parameter, now a view of `lm_head_t`.
        if model.model.embed_tokens.weight is not model.lm_head.weight:
            self._transpose([model.model.embed_tokens.weight])
        self.embed = model.model.embed_tokens.weight
        self.layers = [self._layer(layer) for layer in model.model.layers]
        release_freed_memory()

    def _layer(self, layer: Any) -> Layer:
        attn, mlp = layer.self_attn, layer.mlp
        return Layer(
            input_norm=layer.input_layernorm.weight,
            input_eps=scalar(layer.input_layernorm.variance_epsilon),
            qkv_t=self._transpose([attn.q_proj.weight, attn.k_proj.weight, attn.v_proj.weight]),
            o_t=self._transpose([attn.o_proj.weight]),
            post_norm=layer.post_attention_layernorm.weight,
            post_eps=scalar(layer.post_attention_layernorm.variance_epsilon),
            gate_up_t=self._transpose([mlp.gate_proj.weight, mlp.up_proj.weight]),
            down_t=self._transpose([mlp.down_proj.weight]),
        )

    def _transpose(self, params: list[torch.nn.Parameter]) -> torch.Tensor:
        """`params` (each (out, in)) side by side as one (in, sum of outs) operand of `torch.mm`.

        Contiguous in that layout (each parameter becoming the transposed view of its columns) when the
        outputs are at least as many as the inputs; a matrix with fewer outputs (the MLP's down
        projection) keeps its rows, whose long dot products BLAS runs faster than short wide rows."""
        if len(params) == 1 and params[0].shape[0] < params[0].shape[1]:
            self._laid_out.append((params[0], params[0].detach()))
            return params[0].detach().t()
        # Outside inference mode even when called inside it: the model's parameters become views of
        # these tensors and must stay usable by any later forward.
        with torch.inference_mode(False), torch.no_grad():
            fused = torch.cat([p.detach().t() for p in params], dim=1).contiguous()
            column = 0
            for p in params:
                view = fused[:, column : column + p.shape[0]].t()
                p.data = view
                self._laid_out.append((p, view))
                column += view.shape[0]
        return fused

    def is_current(self) -> bool:
        """True while every parameter laid out still reads from these tensors, in this layout."""
        return all(
            p.data_ptr() == view.data_ptr() and p.shape == view.shape and p.stride() == view.stride()
            for p, view in self._laid_out
        )


def release_freed_memory() -> None:
    """Hand the replaced weight buffers back to the OS: glibc keeps freed heap memory for reuse, so the
    process would otherwise stay larger by the size of the weights laid out again."""
    if sys.platform != "linux":
        return
    with contextlib.suppress(OSError, AttributeError):  # not glibc (e.g. musl): nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: torch.Tensor, size: torch.Tensor) -> torch.Tensor:
    """`LlamaRMSNorm.forward` for float32, value for value.

    `pow(2)` is `x * x`, `mean` is `sum` then `div_` by the size, and a 0-dim float32 `eps` adds what
    the float `eps` adds: the same kernels in the same order, without the Python scalars (each one is
    wrapped in a tensor and converted per call, which costs more than the addition).
    """
    variance = (x * x).sum(-1, keepdim=True).div_(size)
    return (x * variance.add_(eps).rsqrt_()).mul_(weight)


@dataclass(frozen=True)
class Outputs:
    """One position of a forward pass (the newest, or one of the last few)."""

    logits: torch.Tensor
    """(1, vocab)."""
    hidden_states: torch.Tensor
    """(layers + 1, hidden): the embeddings, each block's output, the last one after the final norm (as
    HF's `output_hidden_states`)."""
    attentions: torch.Tensor
    """(layers, heads, position + 1): each layer's attention row for this position."""


class LlamaDecoder:
    """One run's forward passes: a KV cache for `capacity` positions over shared `LlamaWeights`."""

    def __init__(self, weights: LlamaWeights, capacity: int) -> None:
        w = self.w = weights
        self.capacity = capacity
        self.length = 0
        shape = (w.n_layers, w.n_kv_heads, capacity, w.head_dim)
        self.keys = list(torch.empty(shape, dtype=torch.float32).unbind(0))
        self.values = list(torch.empty(shape, dtype=torch.float32).unbind(0))
        # `LlamaRotaryEmbedding.forward` for every position at once: the same float32 products and
        # cos/sin per position as the HF forward computes them one call at a time.
        positions = torch.arange(capacity, dtype=torch.float32)
        freqs = positions[:, None] * w.inv_freq.float()[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        self.cos, sin = emb.cos(), emb.sin()
        # HF's `rotate_half(x) * sin` is `cat(-x2, x1) * sin`; the same products, sign for sign, are
        # `x with its halves swapped * cat(-sin1, sin2)`: one flip and one multiply instead of four ops.
        half = w.head_dim // 2
        self.signed_sin = torch.cat((-sin[:, :half], sin[:, half:]), dim=-1)

    def forward(self, token_ids: torch.Tensor, keep: int = 1) -> list[Outputs]:
        """Feed `token_ids` (1-D: the prompt, one new token, or a token and a draft) after what the cache
        already holds; return the outputs of the last `keep` positions, oldest first.

        The operations are `LlamaForCausalLM`'s eager forward, in its order; views and slices are
        arranged so that a one-token step makes as few torch calls as possible.
        """
        w = self.w
        n = token_ids.shape[0]
        start, end = self.length, self.length + n
        if end > self.capacity:
            raise ValueError(f"the KV cache holds {self.capacity} positions; {end} were asked for")
        if not 1 <= keep <= n:
            raise ValueError(f"keep must be between 1 and the {n} tokens fed; got {keep}")
        nh, nkv, d = w.n_heads, w.n_kv_heads, w.head_dim
        grouped = (nkv, (nh // nkv) * n, d)
        cos = self.cos.narrow(0, start, n)  # (n, d)
        signed_sin = self.signed_sin.narrow(0, start, n)
        halves = (nh + nkv, n, 2, d // 2)
        rotated = (nh + nkv, n, d)
        mask = None
        if n > 1:  # the prompt: causal, as HF's additive mask (min float where a key is in the future)
            future = torch.ones(n, end, dtype=torch.bool).triu(start + 1)
            mask = torch.zeros(n, end).masked_fill_(future, torch.finfo(torch.float32).min)

        x = F.embedding(token_ids, w.embed)  # (n, hidden)
        hidden = [x[-keep:]]
        attentions = []
        size = w.norm_size
        for layer, keys, values in zip(w.layers, self.keys, self.values, strict=True):
            h = rms_norm(x, layer.input_norm, layer.input_eps, size)
            qk, v = torch.mm(h, layer.qkv_t).split(w.qk_v_sizes, dim=-1)
            # Rotate q and k together: (heads + kv heads, n, d).
            qk = qk.view(n, nh + nkv, d).transpose(0, 1)
            qk = qk * cos + qk.view(halves).flip(-2).view(rotated) * signed_sin
            q, k = qk.split((nh, nkv))
            keys.narrow(1, start, n).copy_(k)
            values.narrow(1, start, n).copy_(v.view(n, nkv, d).transpose(0, 1))
            # Grouped-query attention without copying k/v per head: query head j*groups + r reads kv
            # head j, as HF's `repeat_kv` arranges it.
            scores = torch.bmm(q.reshape(grouped), keys.narrow(1, 0, end).transpose(1, 2)).mul_(w.scaling)
            scores = scores.view(nh, n, end)
            if mask is not None:
                scores = scores + mask
            probs = F.softmax(scores, dim=-1, dtype=torch.float32)
            attentions.append(probs[:, -keep:])
            out = torch.bmm(probs.view(nkv, -1, end), values.narrow(1, 0, end))  # grouped shape
            out = out.view(nh, n, d).transpose(0, 1).reshape(n, nh * d)
            x = x + torch.mm(out, layer.o_t)
            h = rms_norm(x, layer.post_norm, layer.post_eps, size)
            gate, up = torch.mm(h, layer.gate_up_t).chunk(2, dim=-1)
            x = x + torch.mm(F.silu(gate).mul_(up), layer.down_t)
            hidden.append(x[-keep:])
        last = rms_norm(x[-keep:], w.final_norm, w.norm_eps, size)
        hidden[-1] = last
        self.length = end
        logits, states, rows = torch.mm(last, w.lm_head_t), torch.stack(hidden), torch.stack(attentions)
        # Position `end - keep + j` attends to the keys up to itself: its row is cut there (the rest
        # are the mask's exact zeros), so it sums over the same keys as a one-token step would.
        return [
            Outputs(logits[j : j + 1], states[:, j], rows[:, :, j, : end - keep + j + 1]) for j in range(keep)
        ]

    def rewind(self, length: int) -> None:
        """Forget the positions from `length` on (a draft token that was not chosen)."""
        if not 0 <= length <= self.length:
            raise ValueError(f"cannot rewind to {length}: the cache holds {self.length} positions")
        self.length = length
