"""Writes src/__tests__/vectors/openmav.json: scaling and binning vectors computed by openmav itself.

Run with the project's venv (openmav installed): .venv/bin/python packages/mav-client/scripts/openmav_vectors.py
The TypeScript tests compare applyScaling and binDistribution with these numbers; openmav is not a
dependency of the client, only of this script.
"""

import json
import re
from pathlib import Path

import numpy as np
import torch
from openmav.api.measurements import ModelMeasurements
from openmav.converters.data_converter import DataConverter
from openmav.view.panels.internal_panels import OutputDistributionPanel

OUT = Path(__file__).resolve().parent.parent / "src" / "__tests__" / "vectors" / "openmav.json"
BAR_RESOLUTION = 10_000

rng = np.random.default_rng(20261127)


def scaling_inputs():
    yield "activations_l2", (rng.random(31) * 400 + 5).astype(np.float32)
    yield "signed", (rng.standard_normal(13) * 3).astype(np.float32)
    yield "entropy", (rng.random(30) * 3).astype(np.float32)
    yield "constant", np.full(8, 2.5, dtype=np.float32)
    yield "zeros", np.zeros(6, dtype=np.float32)
    yield "all_negative", -(rng.random(10) * 5).astype(np.float32)
    yield "single", np.array([7.25], dtype=np.float32)


def distribution_inputs():
    vocab = 49152
    peaked = torch.softmax(torch.randn(vocab, generator=torch.Generator().manual_seed(1)) * 4, dim=-1)
    flat = torch.softmax(torch.randn(vocab, generator=torch.Generator().manual_seed(2)) * 0.5, dim=-1)
    one_hot = torch.zeros(vocab)
    one_hot[123] = 1.0
    small = torch.softmax(torch.randn(37, generator=torch.Generator().manual_seed(3)) * 2, dim=-1)
    yield "peaked", peaked, 20
    yield "flat", flat, 20
    yield "one_hot", one_hot, 20
    yield "short_vocab", small, 20
    yield "ten_bins", peaked, 10


def openmav_bins(probs: torch.Tensor, bins: int):
    measurements = ModelMeasurements(
        mlp_activations=None,
        mlp_normalized=None,
        attention_entropy_values=None,
        attention_entropy_values_normalized=None,
        generated_text="",
        predicted_char="",
        next_token_probs=probs,
        top_ids=None,
        top_probs=None,
        logits=None,
        decoded_tokens=[],
    )
    panel = OutputDistributionPanel(measurements, max_bar_length=BAR_RESOLUTION, num_bins=bins)
    lines = panel.get_panel_content().split("\n")
    parsed = [re.match(r"\[bold yellow\](.*)\[/\]: \[bold cyan\](█*)\[/\]", line) for line in lines]
    # openmav prints the highest bin first; the vectors keep its order.
    return [{"label": m.group(1), "bar": len(m.group(2))} for m in parsed]


def main():
    scaling = []
    for name, values in scaling_inputs():
        for scale in ("linear", "log", "minmax"):
            for max_bar in (20, 100):
                out = DataConverter.apply_scaling(values, scale, max_bar)
                scaling.append(
                    {
                        "name": name,
                        "scale": scale,
                        "max_bar_length": max_bar,
                        "values": [float(v) for v in values],
                        "expected": [float(v) for v in out],
                    }
                )
    distribution = []
    for name, probs, bins in distribution_inputs():
        top = torch.sort(probs, descending=True).values[:100]
        distribution.append(
            {
                "name": name,
                "bins": bins,
                "bar_resolution": BAR_RESOLUTION,
                "top_probs": [float(p) for p in top],
                "openmav": openmav_bins(probs, bins),
            }
        )
    OUT.write_text(json.dumps({"scaling": scaling, "distribution": distribution}, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
