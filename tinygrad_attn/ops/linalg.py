"""Matrix product with numpy's rules (1-d, 2-d, batched with broadcasting)."""

from __future__ import annotations

from ..arrays import rows_t_matmul, sum_to, weight_grad  # noqa: F401  (weight_grad: re-exported)
from ..function import Function


def _rows_matmul(x, w):
    """(..., k) @ (k, n) as one GEMM over all rows (arrays or Tensors): numpy's stacked matmul
    would run one small GEMM per leading index."""
    if x.ndim == 2:
        return x @ w
    return (x.reshape((-1, x.shape[-1])) @ w).reshape(x.shape[:-1] + (w.shape[-1],))


def _mT(x):
    """Swap the last two axes (array or Tensor)."""
    return x.T if x.ndim == 2 else x.swapaxes(-1, -2)


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
            return _rows_matmul(a, b) if a.ndim > 2 and b.ndim == 2 else a @ b
        except ValueError:
            raise ValueError(f"matmul: {a.shape} @ {b.shape}: batch dimensions cannot be broadcast") from None

    def vjp(self, acc, g, ins, out):
        a, b = ins
        if acc.arrays and b.ndim == 2 and a.ndim >= 2:
            # the a^T g products that flow into one weight (an RNN's W_h at every step) may be
            # summed at the end of the sweep, thin ones as a single GEMM (numeric.weight_grad)
            need_a, need_b = self.needs_input_grad
            if need_a:
                acc.add(self, 0, g @ b.T if g.ndim == 2 else _rows_matmul(g, b.T))  # no call on the 2-d hot path
            if need_b:
                acc.defer(self, 1, a, g)
        else:
            acc.add_all(self, self.backward(g, ins, out))

    def backward(self, g, ins, out):
        a, b = ins
        need_a, need_b = self.needs_input_grad
        if a.ndim == 2 and b.ndim == 2:
            return (g @ b.T if need_a else None), (a.T @ g if need_b else None)
        if b.ndim == 2 and a.ndim > 2:  # (..., m, k) @ (k, n): both grads are single GEMMs
            ga = _rows_matmul(g, b.T) if need_a else None
            gb = rows_t_matmul(a, g) if need_b else None
            return ga, gb
        if a.ndim == 1 and b.ndim == 1:
            return g * b, g * a
        a2 = a.reshape((1, a.shape[0])) if a.ndim == 1 else a
        b2 = b.reshape((b.shape[0], 1)) if b.ndim == 1 else b
        if a.ndim == 1:
            g = g.reshape(g.shape[:-1] + (1, g.shape[-1]))
        elif b.ndim == 1:
            g = g.reshape(g.shape + (1,))
        ga = sum_to(g @ _mT(b2), a2.shape).reshape(a.shape) if need_a else None
        gb = sum_to(_mT(a2) @ g, b2.shape).reshape(b.shape) if need_b else None
        return ga, gb
