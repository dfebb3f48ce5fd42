"""Function: one node of the graph, the base class of every op (and of users' own ops).

A `Function` instance keeps its input tensors, whatever its forward saved, the scope it was
created in, and the time it was made (`writes`: see `tensor.WRITES`). The output tensor points at its Function
(`t._ctx`); the Function never points back at its output, so the graph has no reference
cycles and is freed as soon as the last tensor goes.

Backward rules are written once, with operators and methods that numpy arrays and Tensors
share (`g * y`, `g.sum(axis, keepdims=True)`, `g @ b.T`, `np.exp(x)`, ...): a plain backward
feeds them ndarrays, `create_graph=True` feeds them Tensors so the backward pass is itself a
graph. An op may add a `backward_in_place` method: the same rule on ndarrays, computed in
fewer buffers; the sweep uses it for plain backward, and tests prove it equal to `backward`.
"""

from __future__ import annotations

import itertools
import os
import sys

import numpy as np

from .mode import current as _mode
from .tensor import WRITES, Tensor

__all__ = ["Function"]

_FLOAT_SCALARS = {np.float64, np.float32, np.float16}  # what ufuncs give for 0-d results
_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
_SEQ = itertools.count(1)  # creation order of nodes: a later node never feeds an earlier one
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def next_seq() -> int:
    """A fresh creation number: a marker that nodes made before it are below and nodes made after above."""
    return next(_SEQ)


def user_site() -> str:
    """file:line of the innermost stack frame outside this package."""
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def check_finite(fn, data, phase: str):
    """Raise FloatingPointError naming the op if `data` holds NaN or Inf (anomaly mode)."""
    data = getattr(data, "data", data)
    if data is not None and np.issubdtype(np.asarray(data).dtype, np.inexact):
        if not np.all(np.isfinite(data)):
            bad = "NaN" if np.isnan(data).any() else "Inf"
            raise FloatingPointError(f"{fn.name}: {phase} produced {bad} (op created at {fn.site or user_site()})")


def _as_output(fn, data, tensors):
    """A forward's result as an ndarray; anything but numbers (None, str, objects, complex) raises."""
    if isinstance(data, Tensor):
        raise TypeError(f"{fn.name}: forward returned a Tensor; forward works on ndarrays and returns an ndarray")
    arr = np.asarray(data) if isinstance(data, (np.ndarray, np.generic, int, float, bool, list, tuple)) else None
    if arr is None or arr.dtype.kind not in "biuf":
        what = type(data).__name__ if arr is None else f"an array of dtype {arr.dtype}"
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise TypeError(
            f"{fn.name}: forward returned {what} for inputs of shapes ({shapes}); it must return a real numeric ndarray"
        )
    return arr


def _viewed(data, tensors):
    """The tensor whose memory `data` (a view) lies in: the owner of the input it views, or None."""
    base = data.base  # numpy points every view at the array that owns the memory
    for t in tensors:
        if t.data is base or t.data.base is base:
            return t if t._base is None else t._base
    return None


def _array_rule(cls):
    """`backward_in_place` if the class (or the nearest base defining a rule) has one, else `backward`.

    A subclass that overrides `backward` alone gets its own rule, not its base's in-place one.
    """
    for klass in cls.__mro__:
        if "backward_in_place" in vars(klass):
            return klass.backward_in_place
        if "backward" in vars(klass):
            return cls.backward
    return cls.backward


def _guarded(rule):
    """A user's array rule, handed `g` read-only: other nodes may hold the same array (Add gives g to both inputs)."""

    def guarded(self, g, ins, out):
        if type(g) is np.ndarray:
            g.flags.writeable = False
        try:
            return rule(self, g, ins, out)
        except ValueError as e:
            if "read-only" not in str(e):
                raise
            raise ValueError(
                f"{self.name}: backward wrote into its incoming gradient g (shape {np.shape(g)}), which other "
                "nodes may share; return a new array instead (g * 2, not g *= 2)"
            ) from None

    return guarded


class Function:
    """One op: `forward` on numpy arrays, `backward` on arrays or Tensors.

    Subclass with `forward(self, *arrays, **params) -> ndarray` and
    `backward(self, g, ins, out) -> grad or tuple of grads (None for no gradient)`, where
    `ins` are the inputs and `out` the output, as arrays (plain backward) or Tensors
    (`create_graph=True`); call with `MyOp.apply(*tensors, **params)`. Extra arrays a rule
    needs go in `self.saved`; `self.needs_input_grad[i]` says whether input i wants one.
    The engine checks what `backward` returns: one gradient per input (or None), each of the
    input's shape or summable to it by broadcasting.
    """

    __slots__ = (
        "inputs",
        "params",
        "saved",
        "scope",
        "site",
        "freed",
        "seq",
        "writes",
    )

    @property
    def name(self) -> str:
        return type(self).__name__

    @property
    def needs_input_grad(self) -> tuple:
        """Per input, whether it requires a gradient."""
        ins = self.inputs
        if len(ins) == 2:
            return ins[0].requires_grad, ins[1].requires_grad
        return tuple([t.requires_grad for t in ins])

    def forward(self, *arrays, **params):
        raise NotImplementedError(f"{self.name}: define forward(self, *arrays, **params)")

    def backward(self, g, ins, out):
        raise NotImplementedError(f"{self.name}: define backward(self, g, ins, out)")

    # Set for each subclass by __init_subclass__, read by the sweep:
    routes_own_grads = False  # the op defines its own `vjp` (it hands gradients to the accumulator itself)
    own_op = False  # one of this package's ops (tested never to write into g); users' rules get g read-only
    array_backward = backward  # the rule for ndarrays: `backward_in_place` where the op has one
    # True when forward and backward give the same bits on numpy scalars as on 0-d arrays
    # (+ - * / and ufuncs do): 0-d inputs are then passed as scalars, ~10x cheaper per op
    scalar_rules = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.routes_own_grads = cls.vjp is not Function.vjp
        cls.own_op = cls.__module__.startswith("tinygrad_attn.ops.")
        cls.array_backward = _array_rule(cls) if cls.own_op else _guarded(_array_rule(cls))

    def vjp(self, acc, g, ins, out):
        """Hand each input's gradient to the sweep's accumulator (fast paths override this)."""
        acc.add_all(self, (self.array_backward if acc.arrays else self.backward)(g, ins, out))

    @classmethod
    def apply(cls, *tensors, **params):
        """Run forward on the tensors' data and, in grad mode, record the node."""
        fn = object.__new__(cls)
        fn.saved = None
        n = len(tensors)
        if n == 1:
            a = tensors[0]
            x = a.data
            if cls.scalar_rules and not x.ndim:
                x = x[()]
            data = fn.forward(x, **params) if params else fn.forward(x)
            requires = a.requires_grad
        elif n == 2:
            a, b = tensors
            x, y = a.data, b.data
            if cls.scalar_rules and not x.ndim and not y.ndim:  # an array with a 0-d one: ufuncs take 0-d faster
                x, y = x[()], y[()]
            data = fn.forward(x, y, **params) if params else fn.forward(x, y)
            requires = a.requires_grad or b.requires_grad
        else:
            data = fn.forward(*[t.data for t in tensors], **params)
            requires = any([t.requires_grad for t in tensors])
        base = None
        tp = type(data)
        if tp is not np.ndarray:
            data = np.asarray(data) if tp in _FLOAT_SCALARS else _as_output(fn, data, tensors)  # 0-d ufunc results
        elif data.base is not None:  # a view (reshape, slice, .T): writes through it change its base
            base = _viewed(data, tensors)
        dt = data.dtype
        if dt is not _F32 and dt is not _F64 and dt.kind != "f":  # identity first: `.kind` costs ~0.2 us
            if dt.kind not in "biu":
                _as_output(fn, data, tensors)  # raises, naming the dtype
            requires = False  # integer outputs (argmax-like) carry no gradient
        mode = _mode()
        out = object.__new__(Tensor)  # tensor.new_tensor, inlined: this runs for every op
        out.data = data
        out._grad = out._vc = out._hooks = out.name = None
        out._base = base
        out._retain = False
        if requires and mode.grad:
            out.requires_grad = True
            out._ctx = fn
            fn.inputs = tensors
            fn.params = params  # the keyword arguments of forward (gradient checks re-run it)
            fn.scope = mode.scope
            fn.freed = False
            fn.site = user_site() if mode.sites else None
            fn.seq = next(_SEQ)
            fn.writes = WRITES[0]
            if mode.anomaly:
                check_finite(fn, data, "forward")
        else:
            out.requires_grad = False
            out._ctx = None
            if mode.anomaly:
                fn.site = user_site()
                check_finite(fn, data, "forward")
        return out
