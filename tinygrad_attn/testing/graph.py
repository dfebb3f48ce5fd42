"""Check every node of a graph on its own: its backward against finite differences of its own forward.

A composite can be right while one op in it is wrong only where nobody looks; checking each
node's local rule at the values it saw finds the op itself. `check_graph(y)` runs one backward
inside `ta.record_backward()` and reads the nodes from the record, in the order the engine
processed them (so the first failure is the first wrong node backprop reached); it re-runs each
node's forward with the keyword arguments it was made with (`fn.params`) and returns a
`GraphReport`. Build the graph under `ta.record_sites()` to get each node's file:line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..arrays import sum_to as _sum_to
from ..autograd import Function, no_grad
from ..record import Record, Step, record_backward
from ..tensor import Tensor
from . import directional
from .numeric import numeric_jacobian, steps, tolerances_for, worst

_JACOBIAN_LIMIT = 20_000  # entries of a local Jacobian worth computing in full for a report
_COPIED = tuple(s for s in Function.__slots__ if s != "saved")  # what a re-run node takes from the original


@dataclass
class NodeCheck:
    """The local check of one input of one node: `ok` is None when the node could not be re-run."""

    op: str
    site: str | None
    scope: str
    input_index: int
    ok: bool | None
    tensor: Tensor = field(repr=False)
    analytic: float | None = None  # raw local derivative d out[out_element] / d in[element]
    numeric: float | None = None
    out_element: tuple | None = None
    element: tuple | None = None
    reason: str = ""
    step: Step | None = field(default=None, repr=False)  # the record's step for this node, when read from one
    where: str = "x"  # "x + h d": wrong next to the values it saw (right at them)

    def describe(self) -> str:
        """One line: the op, where it was created, and the local derivative that disagrees."""
        where = f" created at {self.site}" if self.site else ""
        if self.ok is None:
            return f"{self.op}{where}: not checked ({self.reason})"
        if self.ok:
            return f"{self.op}{where}: input {self.input_index} ok"
        if self.input_index < 0:
            return f"{self.op}{where}: {self.reason}"
        if self.analytic is None:
            return f"{self.op}{where}: input {self.input_index}: {self.reason}"
        near = "" if self.where == "x" else " next to the values it saw (at them it agrees)"
        return (
            f"{self.op}{where}: d out{_idx(self.out_element)} / d in{self.input_index}{_idx(self.element)}"
            f" = {self.analytic:.8g} by its backward but {self.numeric:.8g} by central differences{near}"
        )


@dataclass
class GraphReport:
    """Every node's local check, in the engine's backward order; `error`: what stopped the backward early."""

    checks: list
    record: Record | None = field(default=None, repr=False)
    error: str | None = None

    @property
    def failures(self):
        return [c for c in self.checks if c.ok is False]

    @property
    def unchecked(self):
        return [c for c in self.checks if c.ok is None]

    @property
    def ok(self) -> bool:
        return not self.failures and self.error is None

    @property
    def first_failure(self):
        return self.failures[0] if self.failures else None

    def __str__(self):
        lines = [f"check_graph: {len(self.checks)} local checks, {len(self.failures)} failed"]
        if self.error:
            lines.append(f"  the backward stopped: {self.error}")
        lines += ["  " + c.describe() for c in self.checks if c.ok is not True]
        return "\n".join(lines)


def _idx(j):
    return "" if not j else "[" + ", ".join(str(k) for k in j) + "]"


def _graph_tensors(roots):
    """Every tensor of the graphs of `roots` (only to put their `.grad` back after the check's backward)."""
    seen, out, stack = set(), [], list(roots)
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        out.append(t)
        if t._ctx is not None:
            stack.extend(t._ctx.inputs)
    return out


def _engine_state_error(e):
    """A freed graph or an in-place change: the graph cannot be checked, no node is to blame."""
    return isinstance(e, RuntimeError) and ("second time" in str(e) or "modified in place" in str(e))


def record_graph(roots, grads=None):
    """Backward from each root (cotangent `grads[i]`, default ones) inside `record_backward()`: (Record, error).

    retain_graph=True, and every `.grad` in the graph is left as it was. A backward that raises
    part-way is not re-raised: the error text comes back and the record ends at the node that raised.
    """
    grads = [None] * len(roots) if grads is None else list(grads)
    saved = [(t, t.grad) for t in _graph_tensors(roots)]
    error = None
    try:
        with record_backward() as rec:
            for r, g in zip(roots, grads):
                r.backward(np.ones_like(r.data) if g is None else g, retain_graph=True)
    except Exception as e:
        if _engine_state_error(e):
            raise RuntimeError(
                f"check_graph: {e}\n  (record the backward instead: `with ta.record_backward() as rec:"
                " y.backward()`, then check_graph(rec))"
            ) from e
        error = f"{type(e).__name__}: {e}"
    finally:
        for t, g in saved:
            t._grad = g
    return rec, error


def _run(fn, arrays):
    """A fresh copy of node `fn` run forward on `arrays` with its own params: (the copy, its float64 output)."""
    f = object.__new__(type(fn))
    for name in _COPIED:  # inputs: some rules ask which inputs need a gradient
        setattr(f, name, getattr(fn, name, None))
    f.saved = None
    return f, np.asarray(f.forward(*arrays, **fn.params), dtype=np.float64)


def _vjp(fn, arrays, w, k):
    """The node's backward for cotangent `w`, input k's part, summed to its shape (float64 array).

    k: an input index, or a tuple of the indices of one tensor used as several inputs (x * x):
    their parts are added, as the engine adds them.
    """
    ks = k if isinstance(k, tuple) else (k,)
    f, out = _run(fn, arrays)
    args = [w.copy(), [a.copy() for a in arrays], out.copy()]
    with no_grad():  # copies: a rule that writes into its arguments must not change what others read
        gs = f.backward(*args)
    _unchanged(args, w, arrays, out)
    gs = tuple(gs) if isinstance(gs, (tuple, list)) else (gs,)
    if len(gs) != len(arrays):
        raise ValueError(f"backward returned {len(gs)} gradients for {len(arrays)} inputs")
    total = np.zeros(arrays[ks[0]].shape)
    for j in ks:
        g = gs[j]
        if g is None:
            continue
        g = np.asarray(g.data if isinstance(g, Tensor) else g, dtype=np.float64)
        if g.shape != arrays[j].shape:
            try:
                g = _sum_to(g, arrays[j].shape)
            except Exception:
                raise ValueError(
                    f"backward returned a gradient of shape {g.shape} for an input of shape {arrays[j].shape}"
                ) from None
        total = total + g
    return total


def _unchanged(args, w, arrays, out):
    """Raise if backward wrote into g, an input or out: the engine hands the same arrays to every other reader."""
    named = [("the incoming gradient g", args[0], w), ("out", args[2], out)]
    named += [(f"its input {i}", a, b) for i, (a, b) in enumerate(zip(args[1], arrays)) if a.dtype.kind == "f"]
    for what, seen, original in named:
        if not np.array_equal(seen, original, equal_nan=True):
            raise ValueError(f"backward wrote into {what}, which other nodes of the graph may still read")


def check_node(node, *, atol=None, rtol=None, seed=0, directions=4):
    """Local checks (one per input that requires grad) of one node: a list of NodeCheck.

    node: the tensor the node made, or a `Step` of a backward record. Each input is checked like
    `gradcheck` checks a function (random directions, tolerance from the node's own values;
    atol and rtol, when given, add per-element slack), at the values the node saw.
    """
    step = node if isinstance(node, Step) else None
    t = node.tensor if step is not None else node
    fn = t._ctx if step is None else step.fn
    if fn is None:
        raise ValueError("check_node: tensor is a leaf; it was made by no op")
    arrays = [np.array(p.data, dtype=np.float64, order="C") if p.data.dtype.kind == "f" else p.data for p in fn.inputs]
    groups = []  # one tensor used as several inputs (x * x) is one input here: perturbed as one, its parts added
    for k, p in enumerate(fn.inputs):
        tied = tuple(j for j, q in enumerate(fn.inputs) if q is p)
        for j in tied:
            arrays[j] = arrays[tied[0]]
        if k == tied[0] and p.requires_grad and arrays[k].dtype.kind == "f":
            groups.append(tied if len(tied) > 1 else k)
    base = dict(op=fn.name, site=fn.site, scope=fn.scope, tensor=t, step=step)
    return [_check_input(fn, arrays, k, seed + n, atol, rtol, directions, base) for n, k in enumerate(groups)]


def _node_subject(fn, arrays, k, out_shape):
    a = arrays[k[0] if isinstance(k, tuple) else k]
    target = directional.Target(a, steps(a).reshape(-1), f"in{k}")

    def evaluate():
        return _run(fn, arrays)[1].reshape(-1).copy()

    def vjp(v):
        return [_vjp(fn, arrays, v.reshape(out_shape), k).reshape(-1)]

    return directional.Subject([target], evaluate, vjp, np.finfo(np.float64).eps, tolerances_for(np.float64)[0])


def _check_input(fn, arrays, k, seed, atol, rtol, directions, base):
    """The directional check of input k (or tied inputs, see `_vjp`); on a disagreement, the raw local derivative."""
    first = k[0] if isinstance(k, tuple) else k
    try:
        _, out = _run(fn, arrays)
        subject = _node_subject(fn, arrays, k, out.shape)
        scr = directional.screen(subject, directions, seed, atol or 0.0, rtol or 0.0)
        if scr.ok:
            return NodeCheck(input_index=first, ok=True, **base)
        if scr.noisy is not None:
            return NodeCheck(input_index=first, ok=None, reason="its central differences are too noisy", **base)
        r, where = scr.rounds[(scr.flag or scr.nonfinite)[0]], (scr.flag or scr.nonfinite)[1]
        if out.size * arrays[first].size <= _JACOBIAN_LIMIT:  # small: the worst entry of the local Jacobians
            kept = arrays[first].copy()
            if where != "x":
                arrays[first][...] = r.p1[0].reshape(arrays[first].shape)
            try:
                ja, jn = local_jacobians(fn, arrays, k)
            finally:
                arrays[first][...] = kept
            dflt_atol, dflt_rtol = tolerances_for(np.float64)
            (row, col), bad = worst(ja, jn, dflt_atol if atol is None else atol, dflt_rtol if rtol is None else rtol)
            if bad or not np.isfinite(ja).all():
                return NodeCheck(
                    input_index=first,
                    ok=False,
                    analytic=float(ja[row, col]),
                    numeric=float(jn[row, col]),
                    out_element=tuple(int(i) for i in np.unravel_index(row, out.shape)),
                    element=tuple(int(i) for i in np.unravel_index(col, arrays[first].shape)),
                    where=where,
                    **base,
                )
        found = directional.locate(subject, scr, atol or 0.0, rtol or 0.0)
    except Exception as e:  # a rule that cannot even run on its own inputs is wrong
        return NodeCheck(input_index=first, ok=False, reason=f"{type(e).__name__}: {e}", **base)
    if found.kind == "spread":
        why = "its backward disagrees along random directions, by errors spread over many elements"
        return NodeCheck(input_index=first, ok=False, reason=why, where=found.where, **base)
    return NodeCheck(
        input_index=first,
        ok=False,
        analytic=found.raw_analytic,
        numeric=found.raw_numeric,
        out_element=tuple(int(i) for i in np.unravel_index(found.output, out.shape)),
        element=tuple(int(i) for i in np.unravel_index(found.index, arrays[first].shape)),
        where=found.where,
        **base,
    )


def local_jacobians(fn, arrays, k):
    """(analytic, numeric) Jacobians d out / d in_k of one node, each (out.size, in_k.size); k as in `_vjp`."""
    ks = k if isinstance(k, tuple) else (k,)
    _, out = _run(fn, arrays)
    rows = []
    for r in range(out.size):
        w = np.zeros(out.size)
        w[r] = 1.0
        rows.append(_vjp(fn, arrays, w.reshape(out.shape), k).ravel())
    analytic = np.stack(rows) if rows else np.zeros((0, arrays[ks[0]].size))
    x = np.array(arrays[ks[0]])

    def f(a):
        shifted = list(arrays)
        for j in ks:
            shifted[j] = a
        return _run(fn, shifted)[1].ravel()

    return analytic, numeric_jacobian(f, x)


def check_graph(*roots, grads=None, atol=None, rtol=None, seed=0, directions=4) -> GraphReport:
    """Check the local rule of every node backprop reaches from `roots`, in backward order; returns a GraphReport.

    roots: Tensors (one backward each, cotangent `grads[i]` or ones, graph retained, `.grad` left
    as it was) or one `Record` of a backward already run. Each node's backward is compared with
    central differences of its own forward at the values it saw (float64).
    """
    if len(roots) == 1 and isinstance(roots[0], Record):
        rec, error = roots[0], None
    else:
        if not roots:
            raise TypeError("check_graph: give the output tensor(s) of a graph, or a record")
        for r in roots:
            if not isinstance(r, Tensor):
                raise TypeError(f"check_graph: expected Tensors or a Record, got {type(r).__name__}")
            if not r.requires_grad:
                raise ValueError(f"check_graph: a tensor of shape {r.shape} has no graph (requires_grad=False)")
        rec, error = record_graph(roots, grads)
    checks, seen = [], set()
    for i, step in enumerate(rec.steps):
        if id(step.fn) in seen:  # a node reached again by a later run
            continue
        seen.add(id(step.fn))
        node_checks = check_node(step, atol=atol, rtol=rtol, seed=seed + i, directions=directions)
        if error is not None and step is rec.steps[-1] and all(c.ok for c in node_checks):
            # the backward stopped in this node but its rule passes alone (a hook, say): still the node to name
            why = f"the backward stopped here: {error}"
            node_checks = [NodeCheck(step.op, step.fn.site, step.scope, -1, False, step.tensor, reason=why, step=step)]
        checks.extend(node_checks)
    return GraphReport(checks, rec, error)
