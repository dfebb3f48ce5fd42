"""Numerically stable softmax and log-softmax along one axis."""

from __future__ import annotations

import numpy as np

from ..arrays import shift_max
from ..function import Function
from .elementwise import exp
from .reduce import fast_sum


def _sum_keep(a, axis):
    """a.sum(axis, keepdims=True); BLAS-backed for arrays (rows are short and many here)."""
    return fast_sum(a, (axis,), keepdims=True) if isinstance(a, np.ndarray) else a.sum(axis=axis, keepdims=True)


def _axis(op, axis, shape):
    ndim = len(shape)
    if not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be an int, got {axis!r} (shape {shape})")
    if ndim == 0 or not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for a tensor of shape {shape} ({ndim} dimensions)")
    return int(axis) % ndim


class Softmax(Function):
    """exp(x - max) / sum; d/dx = out * (g - sum(g * out))."""

    def forward(self, x, axis=-1):
        axis = self.saved = _axis("softmax", axis, x.shape)
        e = x - shift_max(x, axis)
        e = np.exp(e, out=e) if e.dtype.kind == "f" else np.exp(e)  # in place: one buffer, not two
        e /= _sum_keep(e, axis)
        return e

    def backward(self, g, ins, out):
        gy = g * out
        return gy - out * _sum_keep(gy, self.saved)

    def backward_in_place(self, g, ins, out):
        """`backward` on ndarrays in two buffers instead of three (the same bits)."""
        gy = g * out
        return np.subtract(gy, out * _sum_keep(gy, self.saved), out=gy)


class LogSoftmax(Function):
    """x - logsumexp(x); d/dx = g - softmax(x) * sum(g)."""

    def forward(self, x, axis=-1):
        axis = self.saved = _axis("log_softmax", axis, x.shape)
        z = x - shift_max(x, axis)
        z -= np.log(_sum_keep(np.exp(z), axis))
        return z

    def backward(self, g, ins, out):
        return g - exp(out) * _sum_keep(g, self.saved)

    def backward_in_place(self, g, ins, out):
        """`backward` on ndarrays in one buffer instead of three (the same bits)."""
        if g.dtype != out.dtype:
            return self.backward(g, ins, out)
        e = np.exp(out)
        e *= _sum_keep(g, self.saved)
        return np.subtract(g, e, out=e)
