from __future__ import annotations

import numpy as np

from mav_server.topk import top_indices


def test_top_indices_are_repeated_argmax() -> None:
    """The block-bound top-k gives what k rounds of argmax give, ties in index order, on a vocabulary
    that takes the bound (49152 = 768 blocks) and on ones that take the plain sort."""
    rng = np.random.default_rng(0)
    for n in (49152, 1000, 128):
        values = (rng.standard_normal((6, n)) * 3).astype(np.float32)
        values[1, rng.integers(0, n, 40)] = values[1].max()  # ties at the top
        values[2] = np.round(values[2])  # ties everywhere
        values[3, :] = -np.inf
        values[3, 5] = 0.0
        for k in (1, 5, 100):
            expected = np.argsort(-values, axis=1, kind="stable")[:, :k]
            np.testing.assert_array_equal(top_indices(values, k), expected)
