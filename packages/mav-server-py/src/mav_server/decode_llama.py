"""A lean forward pass for Llama-architecture models: the same math as transformers' eager
`LlamaForCausalLM`, without its per-call machinery.

At one token per forward pass on a CPU, a 135M model spends about half of each HF forward in Python:
some 400 `nn.Module` calls, the output-capturing hooks, mask and cache objects. This module runs the
same operations on the model's own weights with q/k/v and gate/up fused into one matrix each (fewer,
larger matmuls), a KV cache preallocated for the whole run, and it returns only what the engine reads:
the newest position's logits, hidden states and attention rows.

It is used only for configurations checked against the HF forward (`unsupported_reason` says why
another model is not); everything else goes through the HF forward.
"""

from __future__ import annotations

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
    if _has_hooks(model):
        return "forward hooks are registered on the model (the lean path would skip them)"
    return None


CAPTURING_HOOKS = "transformers.utils.output_capturing"
"""Module of the hooks transformers installs to collect `output_hidden_states`/`output_attentions`; the
lean path returns those outputs itself, so these hooks are the only ones it may skip."""


def _has_hooks(model: Any) -> bool:
    from torch.nn.modules import module as torch_module

    def foreign(hooks: dict[int, Any]) -> bool:
        return any(getattr(hook, "__module__", None) != CAPTURING_HOOKS for hook in hooks.values())

    if torch_module._global_forward_hooks or torch_module._global_forward_pre_hooks:
        return True
    return any(foreign(m._forward_hooks) or foreign(m._forward_pre_hooks) for m in model.modules())


@dataclass(frozen=True)
class Layer:
    input_norm: torch.Tensor
    input_eps: float
    qkv: torch.Tensor
    """q, k and v projections stacked by rows: (q + 2 kv, hidden)."""
    o: torch.Tensor
    post_norm: torch.Tensor
    post_eps: float
    gate_up: torch.Tensor
    """gate and up projections stacked by rows: (2 intermediate, hidden)."""
    down: torch.Tensor


class LlamaWeights:
    """The model's weights, q/k/v and gate/up fused once per model.

    The fused matrices are new tensors; the model's own q/k/v and gate/up parameters are then pointed at
    row slices of them (the same values, contiguous), so the fusion costs no memory and the HF forward
    keeps computing with exactly these numbers. `is_current` notices when the model's parameters were
    replaced since (the weights must then be fused again).
    """

    def __init__(self, model: Any) -> None:
        config = model.config
        self.n_layers = config.num_hidden_layers
        self.n_heads = config.num_attention_heads
        self.n_kv_heads = config.num_key_value_heads
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // self.n_heads
        self.hidden_size = config.hidden_size
        self.intermediate_size = config.intermediate_size
        self.norm_eps = model.model.norm.variance_epsilon
        self.scaling = self.head_dim**-0.5
        self.embed = model.model.embed_tokens.weight
        self.final_norm = model.model.norm.weight
        self.lm_head = model.lm_head.weight
        self.inv_freq = model.model.rotary_emb.inv_freq
        self._fused: list[tuple[torch.nn.Parameter, torch.Tensor]] = []
        self.layers = [self._fuse(layer) for layer in model.model.layers]

    def _fuse(self, layer: Any) -> Layer:
        attn, mlp = layer.self_attn, layer.mlp
        qkv = self._fuse_rows([attn.q_proj.weight, attn.k_proj.weight, attn.v_proj.weight])
        gate_up = self._fuse_rows([mlp.gate_proj.weight, mlp.up_proj.weight])
        return Layer(
            input_norm=layer.input_layernorm.weight,
            input_eps=layer.input_layernorm.variance_epsilon,
            qkv=qkv,
            o=attn.o_proj.weight,
            post_norm=layer.post_attention_layernorm.weight,
            post_eps=layer.post_attention_layernorm.variance_epsilon,
            gate_up=gate_up,
            down=mlp.down_proj.weight,
        )

    def _fuse_rows(self, params: list[torch.nn.Parameter]) -> torch.Tensor:
        with torch.no_grad():
            fused = torch.cat([p.detach() for p in params], dim=0)
            row = 0
            for p in params:
                view = fused[row : row + p.shape[0]]
                p.data = view
                self._fused.append((p, view))
                row += p.shape[0]
        return fused

    def is_current(self) -> bool:
        """True while every fused parameter still reads from the fused matrices."""
        return all(p.data_ptr() == view.data_ptr() and p.shape == view.shape for p, view in self._fused)


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """`LlamaRMSNorm.forward` for float32, the same operations in the same order."""
    variance = x.pow(2).mean(-1, keepdim=True)
    return weight * (x * torch.rsqrt(variance + eps))


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


@dataclass(frozen=True)
class Outputs:
    """The newest position of one forward pass."""

    logits: torch.Tensor
    """(1, vocab)."""
    hidden_states: torch.Tensor
    """(layers + 1, hidden): the embeddings, each block's output, the last one after the final norm (as
    HF's `output_hidden_states`)."""
    attentions: torch.Tensor
    """(layers, heads, length): each layer's attention row for the newest position."""


class LlamaDecoder:
    """One run's forward passes: a KV cache for `capacity` positions over shared `LlamaWeights`."""

    def __init__(self, weights: LlamaWeights, capacity: int) -> None:
        w = self.w = weights
        self.capacity = capacity
        self.length = 0
        shape = (w.n_layers, w.n_kv_heads, capacity, w.head_dim)
        self.keys = torch.empty(shape, dtype=torch.float32)
        self.values = torch.empty(shape, dtype=torch.float32)
        # `LlamaRotaryEmbedding.forward` for every position at once: the same float32 products and
        # cos/sin per position as the HF forward computes them one call at a time.
        positions = torch.arange(capacity, dtype=torch.float32)
        freqs = positions[:, None] * w.inv_freq.float()[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        self.cos, self.sin = emb.cos(), emb.sin()

    def forward(self, token_ids: torch.Tensor) -> Outputs:
        """Feed `token_ids` (1-D, the prompt or one new token) after what the cache already holds."""
        w = self.w
        n = token_ids.shape[0]
        start, end = self.length, self.length + n
        if end > self.capacity:
            raise ValueError(f"the KV cache holds {self.capacity} positions; {end} were asked for")
        nh, nkv, d = w.n_heads, w.n_kv_heads, w.head_dim
        groups = nh // nkv
        q_size, kv_size = nh * d, nkv * d
        cos, sin = self.cos[start:end], self.sin[start:end]  # (n, d)
        mask = None
        if n > 1:  # the prompt: causal, as HF's additive mask (min float where a key is in the future)
            future = torch.ones(n, end, dtype=torch.bool).triu(start + 1)
            mask = torch.zeros(n, end).masked_fill_(future, torch.finfo(torch.float32).min)

        x = F.embedding(token_ids, w.embed)  # (n, hidden)
        hidden = torch.empty(w.n_layers + 1, w.hidden_size)
        attentions = torch.empty(w.n_layers, nh, end)
        hidden[0] = x[-1]
        for index, layer in enumerate(w.layers):
            h = rms_norm(x, layer.input_norm, layer.input_eps)
            qkv = F.linear(h, layer.qkv)  # (n, q + 2 kv)
            # Rotate q and k together: (n, heads + kv heads, d), then heads first.
            qk = qkv[:, : q_size + kv_size].view(n, nh + nkv, d).transpose(0, 1)
            qk = qk * cos + rotate_half(qk) * sin
            keys, values = self.keys[index], self.values[index]
            keys[:, start:end] = qk[nh:]
            values[:, start:end] = qkv[:, q_size + kv_size :].view(n, nkv, d).transpose(0, 1)
            # Grouped-query attention without copying k/v per head: query head j*groups + r reads kv
            # head j, as HF's `repeat_kv` arranges it.
            q = qk[:nh].reshape(nkv, groups * n, d)
            scores = torch.matmul(q, keys[:, :end].transpose(1, 2)) * w.scaling  # (nkv, groups*n, end)
            scores = scores.view(nh, n, end)
            if mask is not None:
                scores = scores + mask
            probs = F.softmax(scores, dim=-1, dtype=torch.float32)
            attentions[index] = probs[:, -1]
            out = torch.matmul(probs.view(nkv, groups * n, end), values[:, :end])  # (nkv, groups*n, d)
            out = out.view(nh, n, d).transpose(0, 1).reshape(n, q_size)
            x = x + F.linear(out, layer.o)
            h = rms_norm(x, layer.post_norm, layer.post_eps)
            gate_up = F.linear(h, layer.gate_up)
            gate, up = gate_up[:, : w.intermediate_size], gate_up[:, w.intermediate_size :]
            x = x + F.linear(F.silu(gate) * up, layer.down)
            hidden[index + 1] = x[-1]
        last = rms_norm(x[-1:], w.final_norm, w.norm_eps)
        hidden[-1] = last[0]
        self.length = end
        return Outputs(F.linear(last, w.lm_head), hidden, attentions)
