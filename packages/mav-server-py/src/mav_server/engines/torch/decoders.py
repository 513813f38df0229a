"""The torch engine's decoders: the lean Llama decode, and transformers' own forward for any model.

Both take and give NumPy arrays at the engine's edge (`mav_server.engines.Decoder`); everything inside
stays in torch, on the model's device.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from transformers import DynamicCache

from .. import Outputs
from .decode_llama import LlamaDecoder, LlamaWeights


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.float().cpu().numpy()


class LeanDecoder:
    """`decode_llama.LlamaDecoder` behind the engine interface (CPU, float32: no copies)."""

    def __init__(self, weights: LlamaWeights, capacity: int) -> None:
        self.decoder = LlamaDecoder(weights, capacity)

    @property
    def length(self) -> int:
        return self.decoder.length

    def forward(self, token_ids: np.ndarray, keep: int = 1) -> list[Outputs]:
        with torch.inference_mode():
            outputs = self.decoder.forward(torch.from_numpy(token_ids), keep)
        return [Outputs(o.logits.numpy(), o.hidden_states.numpy(), o.attentions.numpy()) for o in outputs]

    def rewind(self, length: int) -> None:
        self.decoder.rewind(length)


PROMPT_ATTENTION_BYTES = 64 * 2**20
"""Largest size of the attention maps (all layers, float32) a pass may return: a longer feed first goes
through the cache alone, so a long prompt never holds every layer's full map at once."""


class HFDecoder:
    """transformers' forward with `output_hidden_states`/`output_attentions` and a `DynamicCache`."""

    def __init__(self, model: Any, device: torch.device) -> None:
        self.model = model
        self.device = device
        self.cache = DynamicCache(config=model.config)
        text = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
        self.maps_per_square = text.num_hidden_layers * text.num_attention_heads * 4
        self.length = 0

    def forward(self, token_ids: np.ndarray, keep: int = 1) -> list[Outputs]:
        n = token_ids.shape[0]
        if not 1 <= keep <= n:
            raise ValueError(f"keep must be between 1 and the {n} tokens fed; got {keep}")
        ids = torch.from_numpy(token_ids).to(self.device)[None, :]
        with torch.inference_mode():
            end = self.length + n
            if self.maps_per_square * n * end > PROMPT_ATTENTION_BYTES and n > keep:
                self.model(ids[:, : n - keep], past_key_values=self.cache, use_cache=True)
                ids = ids[:, n - keep :]
            out = self.model(
                ids,
                past_key_values=self.cache,
                use_cache=True,
                output_hidden_states=True,
                output_attentions=True,
            )
        self.length = end
        # openmav's formulas in half precision overflow (squared norms) or turn into NaN (its
        # log(p + 1e-9) underflows to log(0)); the newest positions alone are cheap to upcast.
        logits = _numpy(out.logits[0, -keep:])
        hidden = _numpy(torch.stack([layer[0, -keep:] for layer in out.hidden_states]))
        rows = _numpy(torch.stack([layer[0, :, -keep:] for layer in out.attentions]))
        return [
            Outputs(logits[j : j + 1], hidden[:, j], rows[:, :, j, : end - keep + j + 1]) for j in range(keep)
        ]

    def rewind(self, length: int) -> None:
        if not 0 <= length <= self.length:
            raise ValueError(f"cannot rewind to {length}: the cache holds {self.length} positions")
        if length < self.length:
            self.cache.crop(length - self.length)  # a negative count: the tokens to remove
        self.length = length
