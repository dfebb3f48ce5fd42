"""Ops that move data without arithmetic: reshape, transpose, indexing, concat, stack."""

from __future__ import annotations

import numpy as np

from ..arrays import add_at, sum_to
from ..function import Function
from ..tensor import Tensor


def broadcast_to(a, shape):
    """np.broadcast_to for an array or a Tensor (backward rules use it in both modes)."""
    if isinstance(a, Tensor):
        return a if a.shape == tuple(shape) else BroadcastTo.apply(a, shape=tuple(shape))
    return np.broadcast_to(a, shape)


def index_add(g, idx, shape):
    """zeros(shape) with g added at idx (repeated indices accumulate); arrays or Tensors."""
    if isinstance(g, Tensor):
        return IndexAdd.apply(g, idx=idx, shape=shape)
    return _scatter(g, idx, shape)


def _scatter(g, idx, shape):
    out = np.zeros(shape, dtype=g.dtype)
    add_at(out, idx, g)
    return out


class Reshape(Function):
    """x.reshape(shape); the gradient is reshaped back."""

    def forward(self, x, shape=None):
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape {x.shape} ({x.size} elements) into {tuple(shape)}") from None

    def backward(self, g, ins, out):
        return g.reshape(ins[0].shape)


class Transpose(Function):
    """x.transpose(axes); the gradient is transposed by the inverse permutation."""

    def forward(self, x, axes=None):
        if axes is None:
            axes = tuple(range(x.ndim))[::-1]
        if sorted(a % max(x.ndim, 1) for a in axes) != list(range(x.ndim)) or len(axes) != x.ndim:
            raise ValueError(f"transpose: axes {tuple(axes)} are not a permutation of {x.ndim} dims (shape {x.shape})")
        self.saved = tuple(np.argsort([a % x.ndim for a in axes]))
        return x.transpose(axes)

    def backward(self, g, ins, out):
        return g.transpose(self.saved)


class BroadcastTo(Function):
    """np.broadcast_to(x, shape); the gradient is summed back to x's shape."""

    def forward(self, x, shape=None):
        try:
            return np.broadcast_to(x, shape)
        except ValueError:
            raise ValueError(f"broadcast_to: cannot broadcast {x.shape} to {tuple(shape)}") from None

    def backward(self, g, ins, out):
        return sum_to(g, ins[0].shape)


def normalize_index(idx, shape):
    """Tensors in an index become arrays; integer arrays are bounds-checked."""
    items = idx if isinstance(idx, tuple) else (idx,)
    fixed = []
    for i in items:
        if isinstance(i, Tensor):
            i = i.data
        if isinstance(i, list):
            i = np.asarray(i)
        if isinstance(i, np.ndarray) and i.dtype.kind == "f":
            raise IndexError(f"getitem: index arrays must be integer or boolean, got {i.dtype}")
        fixed.append(i)
    return tuple(fixed) if isinstance(idx, tuple) else fixed[0]


class GetItem(Function):
    """x[idx] (slices, ints, integer arrays, boolean masks); the gradient is scattered back."""

    def forward(self, x, idx=None):
        try:
            out = x[idx]
        except IndexError as e:
            raise IndexError(f"getitem: {e} (tensor shape {x.shape}, index {_describe(idx)})") from None
        self.saved = idx
        return out if isinstance(out, np.ndarray) else np.asarray(out)

    def vjp(self, acc, g, ins, out):
        acc.scatter(self, 0, self.saved, g)  # straight into the input's gradient buffer

    def backward(self, g, ins, out):
        return index_add(g, self.saved, ins[0].shape)


class IndexAdd(Function):
    """zeros(shape) with g added at idx; the adjoint of GetItem (its gradient is g[idx])."""

    def forward(self, g, idx=None, shape=None):
        self.saved = idx
        return _scatter(g, idx, shape)

    def backward(self, g, ins, out):
        return g[self.saved]


def _describe(idx):
    items = idx if isinstance(idx, tuple) else (idx,)
    return "(" + ", ".join(f"array{i.shape}" if isinstance(i, np.ndarray) else repr(i) for i in items) + ")"


class Concat(Function):
    """np.concatenate(xs, axis); each input gets its slice of the gradient."""

    def forward(self, *xs, axis=0):
        if not xs:
            raise ValueError("concat: needs at least one tensor")
        nd = xs[0].ndim
        if nd == 0:
            raise ValueError("concat: zero-dimensional tensors cannot be concatenated")
        if not -nd <= axis < nd:
            raise ValueError(f"concat: axis {axis} is out of range for shapes {', '.join(str(x.shape) for x in xs)}")
        axis %= nd
        for x in xs:
            if x.ndim != nd or any(x.shape[i] != xs[0].shape[i] for i in range(nd) if i != axis):
                shapes = ", ".join(str(x.shape) for x in xs)
                raise ValueError(f"concat: shapes {shapes} differ outside axis {axis}")
        self.saved = (axis, np.cumsum([0] + [x.shape[axis] for x in xs]))
        return np.concatenate(xs, axis=axis)

    def backward(self, g, ins, out):
        axis, bounds = self.saved
        lead = (slice(None),) * axis
        return tuple(g[lead + (slice(int(bounds[i]), int(bounds[i + 1])),)] for i in range(len(ins)))


class Stack(Function):
    """np.stack(xs, axis); each input gets its slice of the gradient."""

    def forward(self, *xs, axis=0):
        if not xs:
            raise ValueError("stack: needs at least one tensor")
        nd = xs[0].ndim + 1
        if not -nd <= axis < nd:
            raise ValueError(f"stack: axis {axis} is out of range for stacking shape {xs[0].shape} ({nd} dimensions)")
        if any(x.shape != xs[0].shape for x in xs):
            raise ValueError(f"stack: shapes differ: {', '.join(str(x.shape) for x in xs)}")
        axis %= nd
        self.saved = axis
        return np.stack(xs, axis=axis)

    def backward(self, g, ins, out):
        lead = (slice(None),) * self.saved
        return tuple(g[lead + (i,)] for i in range(len(ins)))
