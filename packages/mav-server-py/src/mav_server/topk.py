"""The top k of each row of a matrix, exactly, without partitioning whole rows."""

from __future__ import annotations

import numpy as np

TOP_BLOCK = 64
"""Values per block in `top_indices`: the blocks' maxima bound from below what the top k can be."""


def top_indices(values: np.ndarray, k: int) -> np.ndarray:
    """The indices of the `k` largest values of each row of `values` (rows, n), largest first, ties in
    index order (what `k` rounds of argmax give), for k <= n.

    Exact, and far cheaper than a partition of each row: the k-th largest of the rows' block maxima is
    reached by at least k values, so it bounds the k-th largest value from below, and only the few
    values that reach it are sorted."""
    rows, n = values.shape
    if n % TOP_BLOCK or n // TOP_BLOCK < k or np.isnan(values).any():
        return np.argsort(-values, axis=1, kind="stable")[:, :k]
    maxima = values.reshape(rows, n // TOP_BLOCK, TOP_BLOCK).max(axis=2)
    floor = np.partition(maxima, -k, axis=1)[:, -k]
    row, column = np.nonzero(values >= floor[:, None])
    order = np.lexsort((column, -values[row, column], row))
    row, column = row[order], column[order]
    return column[np.searchsorted(row, np.arange(rows))[:, None] + np.arange(k)]
