"""Array helpers shared by the engine and the op rules (numpy only, no Tensors needed)."""

from __future__ import annotations

import math

import numpy as np

_ONES = {}


def _ones(m, dtype):
    """A cached read-only vector of m ones (the summing vector of `fast_sum`)."""
    key = (m, dtype)
    v = _ONES.get(key)
    if v is None:
        if len(_ONES) > 256:  # shapes vary without bound in some programs: keep the cache small
            _ONES.clear()
        v = _ONES[key] = np.ones(m, dtype)
        v.flags.writeable = False
    return v


def fast_sum(x, axes, keepdims=False):
    """x.sum(axes) for an ndarray; a leading or trailing block of axes is summed by a
    matrix-vector product, which BLAS does several times faster than numpy's reduction."""
    nd = x.ndim
    if axes and x.dtype.kind == "f" and nd > 1 and x.flags.c_contiguous and len(axes) < nd:
        k = len(axes)
        if axes == tuple(range(k)):  # leading axes: ones @ (m, rest)
            m = math.prod(x.shape[:k])
            out = _ones(m, x.dtype) @ x.reshape((m, -1))
            return out.reshape((1,) * k + x.shape[k:] if keepdims else x.shape[k:])
        if axes == tuple(range(nd - k, nd)):  # trailing axes: (rest, m) @ ones
            m = math.prod(x.shape[nd - k :])
            out = x.reshape((-1, m)) @ _ones(m, x.dtype)
            return out.reshape(x.shape[: nd - k] + (1,) * k if keepdims else x.shape[: nd - k])
    return x.sum(axis=axes, keepdims=keepdims)


def shift_max(x, axis):
    """x.max(axis, keepdims=True) for shifting by (softmax): equal to numpy's, save perhaps the sign of a zero.

    numpy reduces each row in an inner-loop call of its own (~60 ns a row), which dominates
    when the rows are short (attention scores, (N, heads, T, T)). For a C-contiguous float
    array reduced over its last axis of length L <= 32, log2(L) whole-array `np.maximum` passes
    over windows that double in width give the same maxima about twice as fast: after them,
    window i L of the flat array covers exactly row i.
    """
    L = x.shape[-1] if x.ndim else 0
    if axis != x.ndim - 1 or not 2 <= L <= 32 or x.size < 4096 or x.dtype.kind != "f" or not x.flags.c_contiguous:
        return x.max(axis=axis, keepdims=True)
    a, w = x.reshape(-1), 1
    while 2 * w <= L:  # a[i] = max of flat[i : i + 2w]
        a = np.maximum(a[:-w], a[w:])
        w *= 2
    if w < L:
        a = np.maximum(a[: a.size - (L - w)], a[L - w :])
    return a[::L].reshape(x.shape[:-1] + (1,))


def sum_to(g, shape):
    """Sum a broadcast gradient (array or Tensor) back to `shape`."""
    gshape = g.shape
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and gshape[i + lead] != 1)
    if axes:
        g = fast_sum(g, axes, keepdims=True) if type(g) is np.ndarray else g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def reducible(gshape, shape) -> bool:
    """Whether a gradient of `gshape` sums back to `shape` by numpy's broadcast rules."""
    if len(gshape) < len(shape):
        return False
    tail = gshape[len(gshape) - len(shape) :]
    return all(n == m or n == 1 for n, m in zip(shape, tail))


def rows_t_matmul(a, g):
    """a^T g summed over every row: a (..., k), g (..., n) -> (k, n) as one GEMM (arrays or Tensors)."""
    return a.reshape((-1, a.shape[-1])).T @ g.reshape((-1, g.shape[-1]))


def weight_grad(pairs):
    """sum_i a_i^T g_i for [(a (..., k), g (..., n))] -> (k, n).

    Thin pairs (a small batch, as in an RNN step) are stacked into one GEMM, which BLAS runs
    far better (and on several threads); thick pairs go one GEMM at a time into one buffer,
    which saves copying every activation once more.
    """
    if len(pairs) == 1:
        return rows_t_matmul(*pairs[0])
    a2 = [a if a.ndim == 2 else a.reshape((-1, a.shape[-1])) for a, _ in pairs]
    g2 = [g if g.ndim == 2 else g.reshape((-1, g.shape[-1])) for _, g in pairs]
    if a2[0].shape[0] < 64:
        return np.concatenate(a2).T @ np.concatenate(g2)
    out = a2[0].T @ g2[0]
    tmp = np.empty_like(out)
    for a, g in zip(a2[1:], g2[1:]):
        np.matmul(a.T, g, out=tmp)
        out += tmp
    return out


def _has_array_index(idx):
    if type(idx) is tuple:
        return any(isinstance(i, (np.ndarray, list)) for i in idx)
    return isinstance(idx, (np.ndarray, list))


def add_at(buf, idx, g):
    """buf[idx] += g in place, with repeated indices accumulating."""
    if type(idx) is int or type(idx) is slice or not _has_array_index(idx):
        view = buf[idx]  # basic indexing never repeats an element
        if type(view) is np.ndarray:
            view += g  # into the view: `buf[idx] += g` would also copy the view onto itself
        else:
            buf[idx] += g  # a single element
    elif isinstance(idx, np.ndarray) and idx.dtype.kind in "iu" and buf.ndim > 1:
        # rows picked by an integer array (embedding lookups): sort the rows, sum each run
        # with reduceat, add once per distinct row; much faster than np.add.at here
        flat = idx.reshape(-1) % buf.shape[0]  # -1 and n-1 are the same row
        order = np.argsort(flat, kind="stable")
        rows = flat[order]
        starts = np.flatnonzero(np.concatenate(([True], rows[1:] != rows[:-1])))
        sums = np.add.reduceat(g.reshape((flat.size,) + buf.shape[1:])[order], starts, axis=0)
        buf[rows[starts]] += sums
    else:
        np.add.at(buf, idx, g)
