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
import heapq
import itertools
import os
import sys

import numpy as np


class _State:
    """Process-wide switches (one instance, read on every op)."""

    grad_enabled = True
    anomaly = False
    scope = ""  # current scope path, "" at top level, "encoder/t=3" nested
    inplace_ops = 0  # in-place ops so far; while 0, nodes need not record input versions


STATE = _State()
_SEQ = itertools.count(1)  # creation order of nodes: a later node never feeds an earlier one
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

    __slots__ = ("inputs", "saved", "versions", "scope", "site", "freed", "seq")

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
        n = len(tensors)
        if n == 1:
            data = fn.forward(tensors[0].data, **params)
            requires = tensors[0].requires_grad
        elif n == 2:
            data = fn.forward(tensors[0].data, tensors[1].data, **params)
            requires = tensors[0].requires_grad or tensors[1].requires_grad
        else:
            data = fn.forward(*[t.data for t in tensors], **params)
            requires = any([t.requires_grad for t in tensors])
        if type(data) is not np.ndarray:
            data = np.asarray(data)
        requires = requires and STATE.grad_enabled
        out = _new_tensor(data, requires)
        if requires:
            fn.inputs = tensors
            # Before the first in-place op of the process every version is 0: store nothing.
            fn.versions = tuple([t._version for t in tensors]) if STATE.inplace_ops else None
            fn.scope = STATE.scope
            fn.freed = False
            fn.site = None
            fn.seq = next(_SEQ)
            out._ctx = fn
        if STATE.anomaly:
            fn.site = _user_site()
            _check_finite(fn, data, "forward")
        return out


def _new_tensor(data, requires_grad):  # replaced by tensor.py at import
    raise RuntimeError("tensor module not loaded")


def _sum_to(g, shape):
    """Sum a broadcast gradient back to `shape` (works for arrays and Tensors)."""
    gshape = g.shape
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and gshape[i + lead] != 1)
    if axes:
        g = _fast_sum(g, axes, keepdims=True) if type(g) is np.ndarray else g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def _fast_sum(x, axes, keepdims):  # replaced by ops/reduce.py at import
    return x.sum(axis=axes, keepdims=keepdims)


def _check_versions(fn, out):
    versions = fn.versions or (0,) * len(fn.inputs)
    for i, t in enumerate(fn.inputs):
        if t._version != versions[i]:
            raise RuntimeError(
                f"{fn.name}: input {i} (shape {t.shape}) was modified in place after the op "
                f"saved it: saved at version {versions[i]}, now version {t._version}"
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
    if create_graph:
        with _set_grad(True):
            _sweep(root, Tensor(g0), retain_graph=True, retain_grad=retain_grad, arrays=False)
    else:
        with _set_grad(False):
            _sweep(root, g0, retain_graph, retain_grad, arrays=True)


def _check_node(fn, out):
    """Raise if the node was freed by an earlier backward or a tensor it uses changed in place."""
    if fn.freed:
        raise RuntimeError(
            f"{fn.name}: trying to backward through the graph a second time; its saved "
            "values were freed. Pass retain_graph=True to the first backward."
        )
    if fn.versions is not None or out._version:
        _check_versions(fn, out)
    elif STATE.inplace_ops:
        for t in fn.inputs:
            if t._version:
                _check_versions(fn, out)


def _sweep(root, g0, retain_graph, retain_grad, arrays):
    """Walk the graph from `root`, newest node first, handing each node its summed gradient.

    A max-heap on creation order replaces the topological sort: a node is processed only
    after every node created later, so all of its consumers have already contributed.
    With `arrays`, rules get numpy arrays and nothing is recorded; gradient buffers this
    sweep allocated itself are `owned` (nobody else holds them), so later contributions
    are added into them in place. Otherwise rules get Tensors and the sweep is recorded.
    """
    from .ops.linalg import MatMul, weight_grad
    from .ops.movement import GetItem, add_at

    anomaly = STATE.anomaly
    check_all = STATE.inplace_ops  # versions only need checking once an in-place op happened
    grads = {id(root): g0}
    owned = set()
    leaves = {}  # id -> leaf tensor that received gradient, in arrival order
    heap = []
    deferred = {}  # leaf id -> [(a, g)]: weight grads of `a @ W`, summed at the end
    heappush, heappop = heapq.heappush, heapq.heappop
    _schedule(root, heap, leaves, heappush)
    while heap:
        t = heappop(heap)[1]
        g = grads.pop(id(t))
        if owned:
            owned.discard(id(g))
        if t._hooks:
            g = _run_hooks(t, g)
        if retain_grad or t._retain:
            _accumulate(t, g, not arrays)
        fn = t._ctx
        if fn.freed or check_all:
            _check_node(fn, t)
        inputs = fn.inputs
        if not arrays:
            in_grads = fn.backward(g, inputs, t)
        elif type(fn) is GetItem:  # scatter straight into the input's gradient buffer
            p = inputs[0]
            if id(p) not in grads:
                _schedule(p, heap, leaves, heappush)
            _scatter_into(grads, owned, p, fn.saved, g, add_at)
            in_grads = ()
        elif type(fn) is MatMul and _is_weight(inputs[1]) and inputs[0].data.ndim >= 2 and not anomaly:
            # the a^T g products that flow into one weight (an RNN's W_h at every step) are
            # collected and summed at the end, thin ones as a single GEMM (ops.linalg.weight_grad)
            a, w = inputs
            pairs = deferred.get(id(w))
            if pairs is None:
                deferred[id(w)] = pairs = []
                leaves[id(w)] = w
            pairs.append((a.data, g))
            in_grads = (g @ w.data.T if a.requires_grad else None,)
        elif len(inputs) == 1:
            in_grads = fn.backward(g, (inputs[0].data,), t.data)
        else:
            in_grads = fn.backward(g, [p.data for p in inputs], t.data)
        if type(in_grads) is not tuple:
            in_grads = (in_grads,)
        for p, pg in zip(inputs, in_grads):
            if pg is None or not p.requires_grad:
                continue
            if pg.shape != p.data.shape:
                pg = _sum_to(pg, p.data.shape)
            if anomaly:
                _check_finite(fn, pg if arrays else pg.data, "backward")
            key = id(p)
            prev = grads.get(key)
            if prev is None:
                grads[key] = pg
                if p._ctx is None:
                    leaves[key] = p
                else:
                    heappush(heap, (-p._ctx.seq, p))
            elif not arrays:
                grads[key] = prev + pg
            elif id(prev) in owned:
                np.add(prev, pg, out=prev)
            else:
                prev = grads[key] = prev + pg
                if type(prev) is np.ndarray and prev.ndim:
                    owned.add(id(prev))
        if not retain_graph:
            fn.saved = None
            fn.freed = True
    for t in leaves.values():
        g = grads.pop(id(t), None)
        pairs = deferred.get(id(t))
        if pairs is not None:
            gw = weight_grad(pairs)
            g = gw if g is None else g + gw
        if t._hooks:
            g = _run_hooks(t, g)
        _accumulate(t, g, not arrays)


def _is_weight(t):
    """A 2-d leaf that requires grad (its matmul gradients may be batched)."""
    return t._ctx is None and t.requires_grad and t.data.ndim == 2


def _schedule(p, heap, leaves, heappush):
    """Queue a tensor that just received its first gradient contribution."""
    if p._ctx is None:
        leaves[id(p)] = p
    else:
        heappush(heap, (-p._ctx.seq, p))


def _scatter_into(grads, owned, p, idx, g, add_at):
    """grads[p] += zeros_like(p) with g at idx, touching only the indexed part."""
    key = id(p)
    buf = grads.get(key)
    if buf is None:
        buf = grads[key] = np.zeros(p.data.shape, dtype=np.result_type(p.data, g))
        owned.add(id(buf))
    elif id(buf) not in owned:
        buf = grads[key] = np.array(buf, dtype=np.result_type(buf, g))
        owned.add(id(buf))
    add_at(buf, idx, g)


def _run_hooks(t, g):
    from .tensor import Tensor

    create_graph = isinstance(g, Tensor)
    for hook in t._hooks:
        r = hook(g if create_graph else Tensor(g))
        if r is not None:
            g = r if create_graph else (r.data if isinstance(r, Tensor) else np.asarray(r))
    return g


def _accumulate(t, g, create_graph):
    from .tensor import Tensor

    if create_graph:
        t.grad = g if t.grad is None else t.grad + g
    elif t.grad is None:
        t.grad = Tensor(np.array(g, dtype=t.data.dtype))
    else:
        t.grad = Tensor(t.grad.data + g)
