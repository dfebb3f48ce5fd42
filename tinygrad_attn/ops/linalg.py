"""Matrix product with numpy's rules (1-d, 2-d, batched with broadcasting)."""

from __future__ import annotations

import numpy as np

from ..autograd import Function, _sum_to


def _mT(x):
    """Swap the last two axes (array or Tensor)."""
    return x.T if x.ndim == 2 else x.swapaxes(-1, -2)


def weight_grad(pairs):
    """sum_i a_i^T g_i for [(a (..., k), g (..., n))] -> (k, n).

    Thin pairs (a small batch, as in an RNN step) are stacked into one GEMM, which BLAS runs
    far better (and on several threads); thick pairs go one GEMM at a time into one buffer,
    which saves copying every activation once more.
    """
    a2 = [a.reshape((-1, a.shape[-1])) for a, _ in pairs]
    g2 = [g.reshape((-1, g.shape[-1])) for _, g in pairs]
    if len(pairs) == 1:
        return a2[0].T @ g2[0]
    if a2[0].shape[0] < 64:
        return np.concatenate(a2).T @ np.concatenate(g2)
    out = a2[0].T @ g2[0]
    tmp = np.empty_like(out)
    for a, g in zip(a2[1:], g2[1:]):
        np.matmul(a.T, g, out=tmp)
        out += tmp
    return out


class MatMul(Function):
    """a @ b; d/da = g @ b^T, d/db = a^T @ g, with 1-d operands promoted as numpy does."""

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: {a.shape} @ {b.shape}: operands must have at least 1 dimension")
        k_a = a.shape[-1]
        k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
        if k_a != k_b:
            raise ValueError(f"matmul: {a.shape} @ {b.shape}: inner dimensions {k_a} and {k_b} differ")
        try:
            if a.ndim > 2 and b.ndim == 2:  # one GEMM over all rows beats numpy's per-batch loop
                return (a.reshape((-1, k_a)) @ b).reshape(a.shape[:-1] + (b.shape[1],))
            return a @ b
        except ValueError:
            raise ValueError(f"matmul: {a.shape} @ {b.shape}: batch dimensions cannot be broadcast") from None

    def backward(self, g, ins, out):
        a, b = ins
        need_a, need_b = self.inputs[0].requires_grad, self.inputs[1].requires_grad
        if a.ndim == 2 and b.ndim == 2:
            return (g @ b.T if need_a else None), (a.T @ g if need_b else None)
        if b.ndim == 2 and a.ndim > 2:  # (..., m, k) @ (k, n): both grads are single GEMMs
            ga = (g.reshape((-1, g.shape[-1])) @ b.T).reshape(a.shape) if need_a else None
            gb = a.reshape((-1, a.shape[-1])).T @ g.reshape((-1, g.shape[-1])) if need_b else None
            return ga, gb
        if a.ndim == 1 and b.ndim == 1:
            return g * b, g * a
        a2 = a.reshape((1, a.shape[0])) if a.ndim == 1 else a
        b2 = b.reshape((b.shape[0], 1)) if b.ndim == 1 else b
        if a.ndim == 1:
            g = g.reshape(g.shape[:-1] + (1, g.shape[-1]))
        elif b.ndim == 1:
            g = g.reshape(g.shape + (1,))
        ga = _sum_to(g @ _mT(b2), a2.shape).reshape(a.shape) if need_a else None
        gb = _sum_to(_mT(a2) @ g, b2.shape).reshape(b.shape) if need_b else None
        return ga, gb
