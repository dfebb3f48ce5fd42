"""Function base class, grad mode, scopes, anomaly mode and the backward engine.

A `Function` instance is one node of the graph: it keeps its input tensors, whatever its
forward saved, the scope it was created in, and the versions of its inputs. The output
tensor points at its Function (`t._ctx`); the Function never points back at its output,
so the graph has no reference cycles and is freed as soon as the last tensor goes.

Backward rules are written with operators and methods that numpy arrays and Tensors share
(`g * y`, `g.sum(axis, keepdims=True)`, `g @ b.T`, ...). Plain backward feeds them numpy
arrays (fast, records nothing); `create_graph=True` feeds them Tensors in grad mode, so the
backward pass is itself a graph that can be differentiated and drawn.
"""

from __future__ import annotations

import contextlib
import os
import sys

import numpy as np


class _State:
    """Process-wide switches (one instance, read on every op)."""

    grad_enabled = True
    anomaly = False
    scope = ""  # current scope path, "" at top level, "encoder/t=3" nested


STATE = _State()
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


@contextlib.contextmanager
def _set_grad(enabled: bool):
    old = STATE.grad_enabled
    STATE.grad_enabled = enabled
    try:
        yield
    finally:
        STATE.grad_enabled = old


def no_grad():
    """Context manager: ops inside record no graph."""
    return _set_grad(False)


def enable_grad():
    """Context manager: ops inside record a graph again (e.g. inside `no_grad`)."""
    return _set_grad(True)


def is_grad_enabled() -> bool:
    """Whether ops currently record a graph."""
    return STATE.grad_enabled


@contextlib.contextmanager
def scope(name: str):
    """Context manager tagging every node created inside with `name` (nested: `a/b`)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"scope: name must be a non-empty string, got {name!r}")
    old = STATE.scope
    STATE.scope = f"{old}/{name}" if old else name
    try:
        yield
    finally:
        STATE.scope = old


@contextlib.contextmanager
def detect_anomaly():
    """Context manager: the first op whose forward or backward makes NaN/Inf raises."""
    old = STATE.anomaly
    STATE.anomaly = True
    try:
        yield
    finally:
        STATE.anomaly = old


def _user_site() -> str:
    """file:line of the innermost stack frame outside this package (anomaly reports)."""
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _check_finite(fn, data, phase: str):
    if data is not None and np.issubdtype(np.asarray(data).dtype, np.inexact):
        if not np.all(np.isfinite(data)):
            bad = "NaN" if np.isnan(data).any() else "Inf"
            raise FloatingPointError(f"{fn.name}: {phase} produced {bad} (op created at {fn.site or _user_site()})")


class Function:
    """One op: `forward` on numpy arrays, `backward` on arrays or Tensors.

    Subclasses define `forward(self, *arrays, **params) -> ndarray` and
    `backward(self, g, ins, out) -> grad or tuple of grads (None for no gradient)`, where
    `ins` are the inputs and `out` the output, as arrays (plain backward) or Tensors
    (`create_graph=True`). Extra arrays a rule needs go in `self.saved`.
    """

    __slots__ = ("inputs", "saved", "versions", "scope", "site", "freed")
    differentiable = True

    @property
    def name(self) -> str:
        return type(self).__name__

    def forward(self, *arrays, **params):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, g, ins, out):  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def apply(cls, *tensors, **params):
        """Run forward on the tensors' data and, in grad mode, record the node."""
        fn = object.__new__(cls)
        fn.saved = None
        data = fn.forward(*[t.data for t in tensors], **params)
        if type(data) is not np.ndarray:
            data = np.asarray(data)
        requires = False
        if STATE.grad_enabled and cls.differentiable:
            for t in tensors:
                if t.requires_grad:
                    requires = True
                    break
        out = _new_tensor(data, requires)
        if requires:
            fn.inputs = tensors
            fn.versions = tuple([t._version for t in tensors])
            fn.scope = STATE.scope
            fn.freed = False
            fn.site = _user_site() if STATE.anomaly else None
            out._ctx = fn
        if STATE.anomaly:
            fn.site = fn.site or _user_site()
            _check_finite(fn, data, "forward")
        return out


def _new_tensor(data, requires_grad):  # replaced by tensor.py at import
    raise RuntimeError("tensor module not loaded")


def _toposort(root):
    """Tensors that require grad reachable from `root`, inputs before outputs (iterative)."""
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        ctx = t._ctx
        if ctx is not None:
            for p in ctx.inputs:
                if p.requires_grad and id(p) not in seen:
                    stack.append((p, False))
    return order


def _sum_to(g, shape):
    """Sum a broadcast gradient back to `shape` (works for arrays and Tensors)."""
    gshape = g.shape
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and gshape[i + lead] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def _check_versions(fn, out):
    for i, t in enumerate(fn.inputs):
        if t._version != fn.versions[i]:
            raise RuntimeError(
                f"{fn.name}: input {i} (shape {t.shape}) was modified in place after the op "
                f"saved it: saved at version {fn.versions[i]}, now version {t._version}"
            )
    if out._version != 0:
        raise RuntimeError(
            f"{fn.name}: its output (shape {out.shape}) was modified in place after the op "
            f"saved it: saved at version 0, now version {out._version}"
        )


def backward(root, grad=None, retain_graph=False, retain_grad=False, create_graph=False):
    """Reverse-mode sweep from `root`; see `Tensor.backward`."""
    from .tensor import Tensor

    if not root.requires_grad:
        raise RuntimeError(f"backward: tensor of shape {root.shape} does not require grad and has no graph")
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(f"backward: output of shape {root.shape} is not a scalar; pass grad= of that shape")
        g0 = np.ones_like(root.data)
    else:
        g0 = grad.data if isinstance(grad, Tensor) else np.asarray(grad, dtype=root.data.dtype)
        if g0.shape != root.shape:
            raise ValueError(f"backward: grad of shape {g0.shape} for output of shape {root.shape}")
    retain_graph = retain_graph or create_graph  # the grad's graph reuses the forward nodes
    order = _toposort(root)
    grads = {id(root): Tensor(g0) if create_graph else g0}
    anomaly = STATE.anomaly
    with _set_grad(create_graph):
        for t in reversed(order):
            g = grads.pop(id(t), None)
            if g is None:
                continue
            if t._hooks:
                for hook in t._hooks:
                    r = hook(g if create_graph else Tensor(g))
                    if r is not None:
                        g = r if create_graph else (r.data if isinstance(r, Tensor) else r)
            fn = t._ctx
            if fn is None:  # leaf: accumulate
                _accumulate(t, g, create_graph)
                continue
            if retain_grad or t._retain:
                _accumulate(t, g, create_graph)
            if fn.freed:
                raise RuntimeError(
                    f"{fn.name}: trying to backward through the graph a second time; its saved "
                    "values were freed. Pass retain_graph=True to the first backward."
                )
            _check_versions(fn, t)
            inputs = fn.inputs
            if create_graph:
                in_grads = fn.backward(g, inputs, t)
            else:
                in_grads = fn.backward(g, [p.data for p in inputs], t.data)
            if type(in_grads) is not tuple:
                in_grads = (in_grads,)
            for p, pg in zip(inputs, in_grads):
                if pg is None or not p.requires_grad:
                    continue
                if pg.shape != p.shape:
                    pg = _sum_to(pg, p.shape)
                if anomaly:
                    _check_finite(fn, pg.data if create_graph else pg, "backward")
                key = id(p)
                prev = grads.get(key)
                grads[key] = pg if prev is None else prev + pg
            if not retain_graph:
                fn.saved = None
                fn.freed = True


def _accumulate(t, g, create_graph):
    from .tensor import Tensor

    if create_graph:
        t.grad = g if t.grad is None else t.grad + g
    elif t.grad is None:
        t.grad = Tensor(np.array(g, dtype=t.data.dtype))
    else:
        t.grad = Tensor(t.grad.data + g)
