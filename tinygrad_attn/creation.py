"""Tensor factories and the ops that take several tensors (concat, stack, where)."""

from __future__ import annotations

import numpy as np

from . import ops
from .tensor import DEFAULT_DTYPE, Tensor, lift

_rng = np.random.default_rng()


def seed(s: int):
    """Seed the generator behind `randn` (and the models' initialisers)."""
    global _rng
    _rng = np.random.default_rng(s)


def rng() -> np.random.Generator:
    """The package's random generator (seeded by `seed`)."""
    return _rng


def _shape(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)


def zeros(*shape, dtype=None, requires_grad=False, name=None):
    """A tensor of zeros of `shape` (float32 unless `dtype`)."""
    return Tensor(np.zeros(_shape(shape), dtype or DEFAULT_DTYPE), requires_grad, name)


def ones(*shape, dtype=None, requires_grad=False, name=None):
    """A tensor of ones of `shape` (float32 unless `dtype`)."""
    return Tensor(np.ones(_shape(shape), dtype or DEFAULT_DTYPE), requires_grad, name)


def zeros_like(t, requires_grad=False):
    """Zeros with `t`'s shape and dtype."""
    return Tensor(np.zeros_like(np.asarray(t)), requires_grad)


def ones_like(t, requires_grad=False):
    """Ones with `t`'s shape and dtype."""
    return Tensor(np.ones_like(np.asarray(t)), requires_grad)


def randn(*shape, dtype=None, requires_grad=False, name=None):
    """Standard normal samples of `shape` from the package generator (see `seed`)."""
    return Tensor(_rng.standard_normal(_shape(shape)).astype(dtype or DEFAULT_DTYPE), requires_grad, name)


def arange(*args, dtype=None):
    """np.arange as a tensor (integer unless a float argument or `dtype` says otherwise)."""
    return Tensor(np.arange(*args, dtype=dtype))


def _tensors(op, tensors):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}: expects a list or tuple of tensors, got {type(tensors).__name__}")
    ts = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    return ts


def concat(tensors, axis=0):
    """Join tensors along an existing axis: shapes must match elsewhere."""
    return ops.Concat.apply(*_tensors("concat", tensors), axis=axis)


def stack(tensors, axis=0):
    """Join equal-shaped tensors along a new axis."""
    return ops.Stack.apply(*_tensors("stack", tensors), axis=axis)


def where(cond, x, y):
    """Elementwise `x` where `cond` else `y` (cond is constant; shapes broadcast)."""
    cond = np.asarray(cond.data if isinstance(cond, Tensor) else cond)
    if cond.dtype != bool:
        raise TypeError(f"where: condition must be boolean, got dtype {cond.dtype}")
    if not isinstance(x, Tensor):
        x = lift(x, y) if isinstance(y, Tensor) else Tensor(x)
    y = lift(y, x)
    return ops.Where.apply(x, y, cond=cond)
