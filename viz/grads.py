"""Where a drawing's numbers come from: the engine's backward record, or the `.grad` tensors hold.

`Recorded(rec)` reads a `ta.record_backward()` record. A tensor's gradient is the sum of what
it received there; the edge input -> op is labelled from that op's step: the contribution it
passed to the input divided by the gradient that arrived at it. viz keeps no derivative rules.
`Held()` reads `.grad` (intermediates keep theirs with `retain_grad=True`) and labels no edge.
`record_of(loss)` runs one backward inside a record and puts every `.grad` back as it was.
"""

from __future__ import annotations

import numpy as np

from tinygrad_attn.record import Record, record_backward
from tinygrad_attn.tensor import Tensor

from .walk import walk

ELEMENTWISE_MODULE = "tinygrad_attn.ops.elementwise"


def fmt(v) -> str:
    """A number in three significant digits."""
    return f"{v:.3g}"


def norm(a) -> float:
    """Euclidean norm of an array; tiny (1e-180) or huge entries are rescaled so they neither underflow nor overflow."""
    flat = np.asarray(a).reshape(-1)
    if flat.size <= 1:
        return abs(float(flat[0])) if flat.size else 0.0
    with np.errstate(over="ignore", under="ignore"):
        square = float(np.add.reduce(flat * flat))
    if 1e-200 < square < float("inf"):  # the usual case: one pass, no copy
        return float(np.sqrt(square))
    flat = flat.astype(np.float64)
    top = float(np.max(np.abs(flat)))
    if top == 0.0 or not np.isfinite(top):
        return top if not np.isnan(flat).any() else float("nan")
    flat = flat / top
    return top * float(np.sqrt(np.add.reduce(flat * flat)))


def is_elementwise(fn) -> bool:
    """True for an op whose Jacobian is diagonal where an input has the output's shape.

    The library's elementwise ops live in one module; a user's op can say `elementwise = True`.
    """
    flag = getattr(type(fn), "elementwise", None)
    return bool(flag) if flag is not None else type(fn).__module__ == ELEMENTWISE_MODULE


def edge_label(op: str, i: int, g, gnorm: float, c, elementwise: bool):
    """(label, tooltip, kind) of input i's edge from the incoming gradient `g` and the contribution `c`.

    kind "derivative": one number, the local derivative c / g (scalar, or the same at every
    element of an elementwise op); "range": an elementwise op whose local derivative varies,
    shown as its smallest..largest; "gain": ||c|| / ||g|| where no single derivative exists
    (matrix ops, reductions, broadcasts). None where the record cannot tell (g is zero).
    """
    c = np.asarray(c)
    with np.errstate(all="ignore"):
        if g.size == 1 and c.size == 1:
            gv, cv = float(g.reshape(-1)[0]), float(c.reshape(-1)[0])
            if gv == 0.0:
                return None
            d = cv / gv
            tip = f"d {op} / d input {i} = contribution / incoming gradient = {fmt(cv)} / {fmt(gv)} = {fmt(d)}"
            return f"×{fmt(d)}", tip, "derivative"
        if elementwise and c.shape == g.shape:
            nz = g != 0
            if not nz.any():
                return None
            d = c[nz] / g[nz]
            lo, hi = float(d.min()), float(d.max())
            where = f"{int(nz.sum())} of {g.size} elements"
            where += "" if nz.all() else " (where the incoming gradient is not 0)"
            tip = f"d {op} / d input {i}, elementwise = contribution / incoming gradient, over {where}: "
            if fmt(lo) == fmt(hi):
                return f"×{fmt(lo)}", tip + f"{fmt(lo)} at every element", "derivative"
            return f"×{fmt(lo)}…{fmt(hi)}", tip + f"from {fmt(lo)} to {fmt(hi)}", "range"
        if not gnorm > 0.0 or not np.isfinite(gnorm):
            return None
        cn = norm(c)
        gain = cn / gnorm
        tip = (
            f"{op}, input {i}: gain = ||gradient passed to it|| / ||gradient at the op|| = {fmt(cn)} / {fmt(gnorm)} "
            f"= {fmt(gain)} (shapes {c.shape} and {g.shape}: no single local derivative)"
        )
        return f"gain {fmt(gain)}", tip, "gain"


class Held:
    """Gradients as the tensors hold them in `.grad`; no edge labels (they need a record)."""

    recorded = False
    record = None
    steps = 0

    def grad(self, t):
        """The gradient `t` holds, as an ndarray, or None."""
        g = t.grad
        return None if g is None else np.asarray(g.data if hasattr(g, "data") else g)

    def step_of(self, t):
        return None

    def edges(self, fn):
        return None


class Recorded:
    """Gradients, step order and edge labels from one `ta.record_backward()` record."""

    recorded = True

    def __init__(self, rec: Record):
        self.record = rec
        self.steps = len(rec.steps)
        self.totals = {}  # id(tensor) -> summed gradient it received
        self.by_fn = {}  # id(fn) -> [incoming gradient, [contribution per input]], summed over runs
        self.last_step = {}  # id(tensor) -> index of the last step that processed it
        self._edges = {}
        for s in rec.steps:
            self._add(s.tensor, s.grad)
            got = self.by_fn.get(id(s.fn))
            if got is None:
                self.by_fn[id(s.fn)] = [s.grad, list(s.contributions)]
            else:
                got[0] = got[0] + s.grad
                got[1] = [b if a is None else a if b is None else a + b for a, b in zip(got[1], s.contributions)]
            self.last_step[id(s.tensor)] = s.index
        for leaf in rec.leaves:
            self._add(leaf.tensor, leaf.grad)

    def _add(self, t, g):
        prev = self.totals.get(id(t))
        self.totals[id(t)] = g if prev is None else prev + g

    def grad(self, t):
        """The gradient `t` received in the record (summed over its runs), or None."""
        return self.totals.get(id(t))

    def step_of(self, t):
        """Index of the (last) step that processed `t`'s node, or None (a leaf, or not reached)."""
        return self.last_step.get(id(t))

    def edges(self, fn):
        """Per input of `fn`: (label, tooltip, kind) or None; None for a node the record never reached."""
        key = id(fn)
        if key in self._edges:
            return self._edges[key]
        got = self.by_fn.get(key)
        out = None
        if got is not None:
            g = np.asarray(got[0])
            gnorm = norm(g)  # once per op: per input it would be quadratic (stack)
            ew = is_elementwise(fn)
            out = [None if c is None else edge_label(fn.name, i, g, gnorm, c, ew) for i, c in enumerate(got[1])]
        self._edges[key] = out
        return out


def roots_of(rec: Record) -> list:
    """The distinct tensors the record's backward runs started from, in order."""
    seen, out = set(), []
    for r in rec.roots:
        if id(r) not in seen:
            seen.add(id(r))
            out.append(r)
    return out


def record_of(loss, who: str = "draw") -> Record:
    """Record one `loss.backward(retain_graph=True)`, then put every `.grad` in its graph back as it was."""
    if loss.op is None:
        raise ValueError(f"{who}: the tensor has no graph (a leaf, or made without grad); pass a computation's output")
    if loss.data.size != 1:
        raise ValueError(f"{who}: the output has shape {loss.shape}; backward=True needs a scalar (e.g. loss.sum())")
    saved = [(t, t.grad) for t in walk(loss)]
    try:
        with record_backward() as rec:
            loss.backward(retain_graph=True)
    except RuntimeError as e:
        if "second time" in str(e):
            raise RuntimeError(
                f"{who}: an earlier backward freed this graph; build it again, or record the backward you run: "
                f"`with ta.record_backward() as rec: loss.backward()`, then viz.{who}(rec)"
            ) from e
        raise
    finally:
        for t, g in saved:
            t.grad = g
    return rec


def source_for(tensor_or_record, backward: bool, who: str):
    """(roots, gradient source) for a Tensor (its `.grad`, or a fresh record with `backward`) or a Record."""
    if isinstance(tensor_or_record, Record):
        rec = tensor_or_record
        if not rec.steps and not rec.leaves:
            raise ValueError(f"{who}: the record is empty; run loss.backward() inside `with ta.record_backward():`")
        return roots_of(rec), Recorded(rec)
    if isinstance(tensor_or_record, Tensor):
        if backward:
            return [tensor_or_record], Recorded(record_of(tensor_or_record, who))
        return [tensor_or_record], Held()
    raise TypeError(f"{who}: expected a Tensor or a ta.record_backward() Record, got {type(tensor_or_record).__name__}")
