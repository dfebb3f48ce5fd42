"""The backward engine: a sweep that knows no op, and the accumulator it hands gradients to.

The protocol between a node and the sweep is one method, `Function.vjp(acc, g, ins, out)`:
the node hands each input's gradient to the accumulator `acc` with `acc.add` (or, for its own
fast paths, `acc.scatter` and `acc.defer`). The default `vjp` runs the op's rule
(`backward`, or `backward_in_place` on ndarrays) and adds what it returns. The accumulator
validates every gradient, sums fan-out, schedules nodes, and -- when a record is open or
anomaly mode is on -- records and checks each contribution.
"""

from __future__ import annotations

import heapq
import threading

import numpy as np

from . import record as _record
from .arrays import add_at, reducible, rows_t_matmul, sum_to, weight_grad
from .function import Function, check_finite
from .mode import current as _mode
from .mode import detect_anomaly, enable_grad, is_grad_enabled, no_grad, record_sites, scope, set_grad_enabled
from .ops.movement import index_add
from .tensor import WRITES, Tensor, new_tensor

__all__ = [
    "Function",
    "backward",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
    "scope",
    "detect_anomaly",
    "record_sites",
]

_heappush = heapq.heappush
_ARRAY_TYPES = {np.ndarray, np.float64, np.float32, np.float16}  # numpy gives scalars for 0-d results
_GRAD_LOCK = threading.Lock()  # `.grad +=` is a read-modify-write: backward in several threads must not lose one


def backward(root, grad=None, retain_graph=False, retain_grad=False, create_graph=False):
    """Reverse-mode sweep from `root`; see `Tensor.backward`."""
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
    rec = _record.ACTIVE.get()
    anomaly = _mode().anomaly
    acc = (Accumulator if rec is None and not anomaly else CarefulAccumulator)(not create_graph)
    if rec is not None:
        acc.start_record(rec, root)
    acc.anomaly = anomaly
    with set_grad_enabled(create_graph):
        _sweep(root, g0 if not create_graph else Tensor(g0), acc, retain_graph or create_graph, retain_grad)


class _Freed:
    """What `fn.freed` holds once a sweep freed the node's saved values: that sweep, and its error if it raised."""

    error = None


def _sweep(root, g0, acc, retain_graph, retain_grad):
    """Walk the graph from `root` (see `_walk`); if a rule raises, the nodes already freed say so."""
    freed = _Freed()
    try:
        _walk(root, g0, acc, retain_graph, retain_grad, freed)
    except BaseException as e:
        freed.error = f"{type(e).__name__}: {e}"
        raise


def _walk(root, g0, acc, retain_graph, retain_grad, freed):
    """Walk the graph from `root`, newest node first, handing each node its summed gradient.

    A max-heap on creation order replaces the topological sort: a node is processed only
    after every node created later, so all of its consumers have already contributed. A node's
    saved values are freed as soon as its rule ran (unless `retain_graph`): a step's buffers are
    reused by the next while the sweep goes on.
    """
    arrays, heap, pop, grads, owned, waiting = acc.arrays, acc.heap, heapq.heappop, acc.grads, acc.owned, acc.waiting
    careful = isinstance(acc, CarefulAccumulator)
    acc.add_all(_Seed(root), (g0,), record=False)
    while heap:
        t = waiting.pop(pop(heap))
        g = grads.pop(t)
        if owned:
            owned.discard(id(g))  # handed on now: never added into in place again
        acc.node = t
        if careful:
            acc.open_step(t, g)
        if t._hooks:
            g = _run_hooks(t, g)
        if (retain_grad or t._retain) and acc.accumulate:
            _accumulate(t, g, arrays)
        fn = t._ctx
        inputs = fn.inputs
        if fn.freed or fn.writes != WRITES[0]:  # freed, or something was written in place since the node was made
            _check_node(fn, t)
        out = t.data
        if not arrays:
            ins, out, rule = inputs, t, fn.backward
        elif fn.scalar_rules and not out.ndim:  # all inputs 0-d too: pass scalars (nothing to write in place)
            out, rule = out[()], fn.backward
            if len(inputs) == 1:
                ins = (inputs[0].data[()],)
            elif len(inputs) == 2:
                ins = (inputs[0].data[()], inputs[1].data[()])
            else:
                ins = tuple([p.data[()] for p in inputs])
        else:
            rule = fn.array_backward
            if len(inputs) == 1:
                ins = (inputs[0].data,)
            elif len(inputs) == 2:
                ins = (inputs[0].data, inputs[1].data)
            else:
                ins = [p.data for p in inputs]
        if fn.routes_own_grads:
            fn.vjp(acc, g, ins, out)
        else:
            acc.add_all(fn, rule(g, ins, out))
        if not retain_graph:
            fn.saved = None
            fn.freed = freed
    acc.finish()


def _check_node(fn, out):
    """Raise if the node was freed by an earlier backward or a tensor it saved changed in place."""
    if fn.freed:
        if fn.freed.error is not None:
            raise RuntimeError(
                f"{fn.name}: its saved values were freed by an earlier backward that raised halfway "
                f"({fn.freed.error}); to retry after an error, pass retain_graph=True to the backward that may fail"
            )
        raise RuntimeError(
            f"{fn.name}: trying to backward through the graph a second time; its saved "
            "values were freed. Pass retain_graph=True to the first backward."
        )
    saved = fn.versions
    for i, t in enumerate(fn.inputs):
        if t._vc is not None and t._vc[0] != (saved[i] if saved else 0):
            raise RuntimeError(
                f"{fn.name}: input {i} (shape {t.shape}) was modified in place after the op "
                f"saved it: saved at version {saved[i] if saved else 0}, now version {t._vc[0]}"
            )
    made_at = getattr(fn, "out_version", 0)  # a view starts at its base's version
    if out._vc is not None and out._vc[0] != made_at:
        raise RuntimeError(
            f"{fn.name}: its output (shape {out.shape}) was modified in place after the op "
            f"saved it: saved at version {made_at}, now version {out._vc[0]}"
        )


class Accumulator:
    """The gradients in flight during one sweep, and the queue of nodes still to process.

    A node's `vjp` calls `add(fn, i, grad)` for input i; `scatter(fn, i, idx, g)` to add `g`
    at `idx` of input i's gradient (indexing); `defer(fn, i, a, g)` for a contribution
    `a^T g` that may be summed with others into the same weight at the end (`a @ W` at every
    time step: one GEMM instead of T). Gradient buffers this sweep allocated itself are
    `owned` (nobody else holds them), so later contributions are added into them in place.
    """

    def __init__(self, arrays: bool):
        self.arrays = arrays  # rules get ndarrays (plain backward) or Tensors (create_graph)
        self.grads = {}  # tensor -> gradient so far (tensors hash by identity)
        self.owned = set()
        self.heap = []  # -creation order of the nodes waiting: newest first (ints compare fastest)
        self.waiting = {}  # -creation order -> the tensor whose node waits
        self.leaves = {}  # leaf tensor -> itself, in the order gradients arrived
        self.deferred = {}  # leaf tensor -> [(a, g)], summed by `finish`
        self.node = None  # the tensor whose node is running its rule (for error messages)
        self.anomaly = False
        self.accumulate = True  # False inside record_backward(accumulate=False)
        self.noting = False  # True: every contribution also goes to `note` (records, anomaly checks)

    def add_all(self, fn, grads, record=True):
        """Add the gradients a rule returned, one per input of `fn` (or None): the one place gradients are summed.

        A gradient arriving first is kept as it is (and its node scheduled); a later one is added
        to it, in place only into a buffer this sweep made itself (`owned`). `record=False` keeps
        the contributions out of a record (a scatter's empty buffer, the seed of the sweep).
        """
        inputs = fn.inputs
        if type(grads) is not tuple:
            grads = tuple(grads) if type(grads) is list else (grads,)
        if len(grads) != len(inputs):
            raise ValueError(
                f"{fn.name}: backward returned {len(grads)} gradient{'s' * (len(grads) != 1)} for "
                f"{len(inputs)} input{'s' * (len(inputs) != 1)}; return one per input (None for no gradient)"
            )
        arrays, table, owned = self.arrays, self.grads, self.owned
        for i, pg in enumerate(grads):
            if pg is None:
                continue
            p = inputs[i]
            if not p.requires_grad:
                continue
            if type(pg) not in _ARRAY_TYPES if arrays else type(pg) is not Tensor:
                pg = self._as_grad(fn, i, pg)
            if pg.shape != p.data.shape:
                pg = self._reduce(fn, i, p, pg)
            if self.noting and record:
                self.note(fn, i, pg)
            prev = table.get(p)
            if prev is None:
                table[p] = pg
                if p._ctx is None:
                    self.leaves[p] = p
                else:
                    seq = -p._ctx.seq
                    _heappush(self.heap, seq)
                    self.waiting[seq] = p
            elif not arrays:
                table[p] = prev + pg
            elif id(prev) in owned:
                np.add(prev, pg, out=prev)
            else:
                prev = table[p] = prev + pg
                if type(prev) is np.ndarray and prev.ndim:
                    owned.add(id(prev))

    def add(self, fn, i, pg):
        """Add gradient `pg` for input i of `fn` alone (a `vjp`'s fast paths), as `add_all` does."""
        grads = [None] * len(fn.inputs)
        grads[i] = pg
        self.add_all(fn, grads)

    def scatter(self, fn, i, idx, g):
        """Add `g` at `idx` of input i's gradient (repeated indices accumulate)."""
        p = fn.inputs[i]
        if not p.requires_grad:
            return
        if not self.arrays:
            return self.add(fn, i, index_add(g, idx, p.shape))
        buf = self.grads.get(p)
        if buf is None:
            grads = [None] * len(fn.inputs)
            grads[i] = np.zeros(p.data.shape, dtype=np.result_type(p.data, g))
            self.add_all(fn, grads, record=False)
            buf = self.grads[p]
            self.owned.add(id(buf))
        elif id(buf) not in self.owned:
            buf = self.grads[p] = np.array(buf, dtype=np.result_type(buf, g))
            self.owned.add(id(buf))
        add_at(buf, idx, g)

    def defer(self, fn, i, a, g):
        """Add `a^T g` (rows of a (..., k) and g (..., n) paired) to input i, a (k, n) matrix."""
        p = fn.inputs[i]
        if not p.requires_grad:
            return
        if not self.arrays or p._ctx is not None:
            return self.add(fn, i, rows_t_matmul(a, g))
        pairs = self.deferred.get(p)
        if pairs is None:
            self.deferred[p] = pairs = []
            self.leaves[p] = p
        pairs.append((a, g))

    def finish(self):
        """Sum the deferred weight gradients, run leaf hooks, accumulate into `.grad`."""
        given = set()  # under create_graph, two leaves may get one gradient Tensor (Add hands g to both)
        for t in self.leaves:
            g = self.grads.pop(t, None)
            pairs = self.deferred.get(t)
            if pairs is not None:
                gw = weight_grad(pairs)
                g = gw if g is None else g + gw
            if self.leaf_done(t, g):
                continue
            if t._hooks:
                g = _run_hooks(t, g)
            if not self.arrays:
                if id(g) in given:
                    g = g * 1  # a Tensor of its own: scaling one leaf's .grad must not scale another's
                given.add(id(g))
            _accumulate(t, g, self.arrays)

    def leaf_done(self, t, g) -> bool:
        """Called with each leaf's total gradient; True skips its hooks and `.grad`."""
        return False

    def _as_grad(self, fn, i, pg):
        p = fn.inputs[i]
        if self.arrays:
            if isinstance(pg, np.generic):  # numpy returns scalars for 0-d results
                return pg
            if isinstance(pg, Tensor):
                return pg.data
            if isinstance(pg, (int, float)):
                return np.asarray(pg, dtype=p.data.dtype)
        elif isinstance(pg, (np.ndarray, np.generic)):
            raise TypeError(
                f"{fn.name}: backward returned an ndarray for input {i} (shape {np.shape(pg)}) under "
                "create_graph=True, which drops the graph of the gradient; compute it with Tensor "
                "operations (operators, methods, np.exp(t) and friends work on Tensors)"
            )
        if not hasattr(pg, "shape"):
            raise TypeError(f"{fn.name}: backward returned {type(pg).__name__} for input {i}; expected an array")
        return pg

    def _reduce(self, fn, i, p, pg):
        out_shape = self.node.shape if self.node is not None else pg.shape
        if reducible(pg.shape, p.shape) and reducible(out_shape, pg.shape):
            return sum_to(pg, p.data.shape)
        raise ValueError(
            f"{fn.name}: backward returned a gradient of shape {tuple(pg.shape)} for input {i} of shape "
            f"{p.shape} (output shape {tuple(out_shape)}); it must have the input's shape, or the "
            "output's shape where the input was broadcast"
        )


class CarefulAccumulator(Accumulator):
    """An accumulator that records every contribution and, in anomaly mode, checks it.

    It sums gradients exactly as the plain accumulator does (the same order, the same
    deferred weight GEMM, the same scatter buffers), so a recorded backward gives training's
    gradients bit for bit. On the side it keeps each contribution as a full-size array of its
    input's shape: a scatter as the zeros-with-g it adds, a deferred `a^T g` as its own product.
    """

    def __init__(self, arrays):
        super().__init__(arrays)
        self.rec = None
        self.step = None
        self.noting = True

    def start_record(self, rec, root):
        self.rec, self.run = rec, rec.start(root)
        self.accumulate = rec.accumulate

    def open_step(self, t, g):
        if self.rec is not None:
            self.step = _record.Step(len(self.rec.steps), self.run, t._ctx, t, _record.as_array(g))
            self.rec.steps.append(self.step)

    def note(self, fn, i, pg):
        """Check (anomaly mode) and record one contribution of `fn` to its input i."""
        if self.anomaly:
            check_finite(fn, pg, "backward")
        if self.step is not None and fn is self.step.fn:
            c = self.step.contributions
            c[i] = _record.as_array(pg) if c[i] is None else c[i] + _record.as_array(pg)

    def scatter(self, fn, i, idx, g):
        p = fn.inputs[i]
        if not p.requires_grad:
            return
        if not self.arrays:
            return self.add(fn, i, index_add(g, idx, p.shape))
        self.note(fn, i, index_add(g, idx, p.shape))
        super().scatter(fn, i, idx, g)

    def defer(self, fn, i, a, g):
        p = fn.inputs[i]
        if not p.requires_grad:
            return
        if not self.arrays or p._ctx is not None:
            return self.add(fn, i, rows_t_matmul(a, g))
        self.note(fn, i, rows_t_matmul(a, g))
        super().defer(fn, i, a, g)

    def leaf_done(self, t, g):
        if self.rec is None:
            return False
        pairs = self.deferred.get(t)
        batched = len(pairs) if pairs is not None and len(pairs) > 1 else 0
        self.rec.leaves.append(_record.Leaf(t, _record.as_array(g), self.run, batched))
        return not self.rec.accumulate


def _run_hooks(t, g):
    create_graph = isinstance(g, Tensor)
    for hook in t._hooks:
        r = hook(g if create_graph else _read_only(g))
        if r is None:
            continue
        if not isinstance(r, (Tensor, np.ndarray)):
            r = np.asarray(r, dtype=t.dtype)
        shape = r.shape
        if tuple(shape) != t.shape:
            name = getattr(hook, "__qualname__", repr(hook))
            got = f"a gradient of shape {tuple(shape)}"
            raise ValueError(
                f"hook {name}: returned {got} for a tensor of shape {t.shape}; a hook returns None or "
                "a gradient of the tensor's own shape"
            )
        g = (r if isinstance(r, Tensor) else Tensor(r)) if create_graph else (r.data if isinstance(r, Tensor) else r)
    return g


class _Seed:
    """The sweep's start as a node with one input, the root, so its gradient goes in like any other."""

    name = "backward"

    def __init__(self, root):
        self.inputs = (root,)


def _read_only(g) -> Tensor:
    """The gradient as a Tensor a hook may read but not write (other nodes may hold the same array)."""
    v = np.asarray(g).view()
    v.flags.writeable = False
    return new_tensor(v, False)


def _accumulate(t, g, arrays):
    """Add `g` into `t.grad` (a new Tensor each time: a `.grad` someone holds is never changed)."""
    with _GRAD_LOCK:
        if not arrays:
            t.grad = g if t.grad is None else t.grad + g
        elif t.grad is None:
            t.grad = new_tensor(np.array(g, dtype=t.data.dtype), False)
        else:
            t.grad = new_tensor(t.grad.data + g, False)
