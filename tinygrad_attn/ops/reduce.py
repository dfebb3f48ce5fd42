"""Reductions over axes: sum, mean, max, logsumexp."""

from __future__ import annotations

import math

import numpy as np

from ..arrays import fast_sum
from ..function import Function
from .elementwise import exp
from .movement import broadcast_to


def normalize_axis(op, axis, shape):
    """`axis` (None, int or tuple) for a tensor of `shape` as a sorted tuple of non-negative ints, checked."""
    ndim = len(shape)
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axes = (axis,)
    elif isinstance(axis, (tuple, list)):
        axes = tuple(axis)
    else:
        raise TypeError(f"{op}: axis must be an int or a tuple of ints, got {axis!r} (shape {shape})")
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)):
            raise TypeError(f"{op}: axis must be an int or a tuple of ints, got {axis!r} (shape {shape})")
        if not -ndim <= a < max(ndim, 1) or (ndim == 0 and a not in (0, -1)):
            raise ValueError(f"{op}: axis {a} is out of range for a tensor of shape {shape} ({ndim} dimensions)")
        out.append(int(a) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis!r} (shape {shape})")
    return tuple(sorted(out)) if ndim else ()


def keep_shape(shape, axes):
    """`shape` with the reduced axes set to 1 (what keepdims=True gives)."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    """x.sum(axis, keepdims); the gradient is g broadcast back to x's shape."""

    def forward(self, x, axis=None, keepdims=False):
        axes = normalize_axis("sum", axis, x.shape)
        self.saved = (x.shape, keep_shape(x.shape, axes))
        return fast_sum(x, axes, keepdims)

    def backward(self, g, ins, out):
        shape, kshape = self.saved
        return broadcast_to(g.reshape(kshape), shape)


class Mean(Function):
    """x.mean(axis, keepdims); the gradient is g / n broadcast back."""

    def forward(self, x, axis=None, keepdims=False):
        axes = normalize_axis("mean", axis, x.shape)
        n = math.prod([x.shape[a] for a in axes]) if axes else 1
        if n == 0:
            raise ValueError(f"mean: reducing axes {axes} of shape {x.shape} averages zero elements")
        self.saved = (x.shape, keep_shape(x.shape, axes), n)
        if x.dtype.kind != "f":
            return x.mean(axis=axes, keepdims=keepdims)
        if x.dtype == np.float16:  # summed in float32, as numpy does: a float16 sum overflows at 65504
            return (fast_sum(x.astype(np.float32), axes, keepdims) * np.float32(1.0 / n)).astype(np.float16)
        return fast_sum(x, axes, keepdims) * np.asarray(1.0 / n, dtype=x.dtype)

    def backward(self, g, ins, out):
        shape, kshape, n = self.saved
        return broadcast_to(g.reshape(kshape) * (1.0 / n), shape)


class Max(Function):
    """x.max(axis, keepdims); ties share the gradient evenly."""

    def forward(self, x, axis=None, keepdims=False):
        axes = normalize_axis("max", axis, x.shape)
        if x.size == 0:
            raise ValueError(f"max: empty tensor of shape {x.shape} has no maximum")
        m = x.max(axis=axes, keepdims=True)
        mask = x == m
        share = mask / mask.sum(axis=axes, keepdims=True)
        self.saved = (share.astype(x.dtype), keep_shape(x.shape, axes))
        return m if keepdims else m.reshape([n for i, n in enumerate(x.shape) if i not in axes])

    def backward(self, g, ins, out):
        share, kshape = self.saved
        return g.reshape(kshape) * share


class LogSumExp(Function):
    """log(sum(exp(x), axis)), shifted by the max for stability; d/dx = softmax(x)."""

    def forward(self, x, axis=None, keepdims=False):
        axes = normalize_axis("logsumexp", axis, x.shape)
        m = x.max(axis=axes, keepdims=True) if x.size else np.zeros(keep_shape(x.shape, axes), x.dtype)
        m = np.where(np.isfinite(m), m, 0)
        out = np.log(np.exp(x - m).sum(axis=axes, keepdims=True)) + m
        self.saved = keep_shape(x.shape, axes)
        return out if keepdims else out.reshape([n for i, n in enumerate(x.shape) if i not in axes])

    def backward(self, g, ins, out):
        kshape = self.saved
        return g.reshape(kshape) * exp(ins[0] - out.reshape(kshape))
