"""Minibatch iterators over id arrays."""

from __future__ import annotations

import numpy as np


def num_batches(n: int, batch_size: int, drop_last: bool = False) -> int:
    """How many batches `batches` yields for `n` rows."""
    return n // batch_size if drop_last else -(-n // batch_size)


def batches(x, t, batch_size: int = 128, shuffle: bool = True, rng=None, drop_last: bool = False):
    """Yield (x[idx], t[idx]) minibatches of `batch_size` rows (a fresh permutation per call when shuffling)."""
    x, t = np.asarray(x), np.asarray(t)
    if len(x) != len(t):
        raise ValueError(f"batches: {len(x)} questions but {len(t)} answers")
    if batch_size < 1:
        raise ValueError(f"batches: batch_size must be >= 1, got {batch_size}")
    n = len(x)
    if shuffle:
        rng = rng if rng is not None else np.random.default_rng()
        order = rng.permutation(n)
    else:
        order = np.arange(n)
    for k in range(num_batches(n, batch_size, drop_last)):
        idx = order[k * batch_size : (k + 1) * batch_size]
        yield x[idx], t[idx]
