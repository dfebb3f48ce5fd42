"""Check every node of a graph on its own: its backward against finite differences of its own forward.

A composite can be right while one op in it is wrong only where nobody looks; checking each
node's local rule at the values it saw finds the op itself. `check_graph(y)` walks the graph
of `y` in backward order (newest node first) and returns a `GraphReport`.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import numpy as np

from ..autograd import no_grad
from ..numeric import sum_to as _sum_to
from ..tensor import Tensor
from .numeric import numeric_jacobian, step_for, tolerances_for, worst

_JACOBIAN_LIMIT = 20_000  # entries of a local Jacobian worth computing in full for a report


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

    def describe(self) -> str:
        """One line: the op, where it was created, and the local derivative that disagrees."""
        where = f" created at {self.site}" if self.site else ""
        if self.ok is None:
            return f"{self.op}{where}: not checked ({self.reason})"
        if self.ok:
            return f"{self.op}{where}: input {self.input_index} ok"
        if self.analytic is None:
            return f"{self.op}{where}: input {self.input_index}: {self.reason}"
        return (
            f"{self.op}{where}: d out{_idx(self.out_element)} / d in{self.input_index}{_idx(self.element)}"
            f" = {self.analytic:.8g} by its backward but {self.numeric:.8g} by central differences"
        )


@dataclass
class GraphReport:
    """Every node's local check, in backward order."""

    checks: list

    @property
    def failures(self):
        return [c for c in self.checks if c.ok is False]

    @property
    def unchecked(self):
        return [c for c in self.checks if c.ok is None]

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def first_failure(self):
        return self.failures[0] if self.failures else None

    def __str__(self):
        lines = [f"check_graph: {len(self.checks)} local checks, {len(self.failures)} failed"]
        lines += ["  " + c.describe() for c in self.checks if c.ok is not True]
        return "\n".join(lines)


def _idx(j):
    return "" if not j else "[" + ", ".join(str(k) for k in j) + "]"


def _nodes(roots):
    """Non-leaf tensors reachable from `roots`, newest first (the order backward visits them)."""
    seen, out, stack = set(), [], list(roots)
    while stack:
        t = stack.pop()
        if t._ctx is None or id(t) in seen:
            continue
        seen.add(id(t))
        out.append(t)
        stack.extend(t._ctx.inputs)
    return sorted(out, key=lambda t: -t._ctx.seq)


def _params(fn, t, arrays):
    """The keyword parameters the node was made with, or None when they cannot be known.

    The engine does not keep them yet: an op whose forward takes only arrays needs none; otherwise
    the defaults are used if re-running with them reproduces the node's output exactly.
    """
    recorded = getattr(fn, "params", None)
    if recorded is not None:
        return dict(recorded)
    sig = inspect.signature(type(fn).forward)
    extra = [p for p in list(sig.parameters.values())[1:] if p.kind != p.VAR_POSITIONAL]
    if all(p.default is p.empty and p.kind == p.POSITIONAL_OR_KEYWORD for p in extra):
        return {}
    try:
        _, out = _run(fn, arrays, {})
    except Exception:
        return None
    same = out.shape == t.shape and np.allclose(out, t.data, rtol=1e-6, atol=1e-6)
    return {} if same else None


def _run(fn, arrays, params):
    """A fresh copy of node `fn` run forward on `arrays`: (the copy, its float64 output)."""
    f = object.__new__(type(fn))
    f.saved = None
    f.inputs = fn.inputs  # some rules ask which inputs need a gradient
    return f, np.asarray(f.forward(*arrays, **params), dtype=np.float64)


def _vjp(fn, arrays, params, w, k):
    """The node's backward for cotangent `w`, input k's part, summed to its shape (float64 array)."""
    f, out = _run(fn, arrays, params)
    with no_grad():
        gs = f.backward(w, list(arrays), out)
    gs = gs if isinstance(gs, tuple) else (gs,)
    g = gs[k] if k < len(gs) else None
    if g is None:
        return np.zeros(arrays[k].shape)
    g = np.asarray(g.data if isinstance(g, Tensor) else g, dtype=np.float64)
    if g.shape != arrays[k].shape:
        try:
            g = _sum_to(g, arrays[k].shape)
        except Exception:
            raise ValueError(
                f"backward returned a gradient of shape {g.shape} for an input of shape {arrays[k].shape}"
            ) from None
    return g


def check_node(t, *, atol=None, rtol=None, seed=0):
    """Local checks (one per input that requires grad) of the node that made tensor `t`: a list of NodeCheck."""
    fn = t._ctx
    if fn is None:
        raise ValueError("check_node: tensor is a leaf; it was made by no op")
    dflt_atol, dflt_rtol = tolerances_for(np.float64)
    atol = dflt_atol if atol is None else atol
    rtol = dflt_rtol if rtol is None else rtol
    ins = fn.inputs
    arrays = [np.array(p.data, dtype=np.float64) if p.data.dtype.kind == "f" else p.data for p in ins]
    base = dict(op=fn.name, site=getattr(fn, "site", None), scope=getattr(fn, "scope", ""), tensor=t)
    params = _params(fn, t, arrays)
    if params is None:
        return [NodeCheck(input_index=-1, ok=None, reason="its parameters were not recorded", **base)]
    rng = np.random.default_rng(seed)
    checks = []
    for k, p in enumerate(ins):
        if not p.requires_grad or arrays[k].dtype.kind != "f":
            continue
        checks.append(_check_input(fn, arrays, params, k, rng, atol, rtol, base))
    return checks


def _check_input(fn, arrays, params, k, rng, atol, rtol, base):
    """Projected check <w, J v> vs <J^T w, v> for input k; on a mismatch, the raw Jacobian's worst entry."""
    try:
        _, out = _run(fn, arrays, params)
        w = rng.standard_normal(out.shape)
        v = rng.standard_normal(arrays[k].shape)
        analytic = float((_vjp(fn, arrays, params, w, k) * v).sum())
    except Exception as e:  # a rule that cannot even run on its own inputs is wrong
        return NodeCheck(input_index=k, ok=False, reason=f"{type(e).__name__}: {e}", **base)
    h = step_for(np.float64) * max(1.0, float(np.abs(arrays[k]).max(initial=0.0)))

    def proj(sign):
        shifted = list(arrays)
        shifted[k] = arrays[k] + sign * h * v
        return float((_run(fn, shifted, params)[1] * w).sum())

    numeric = (proj(1) - proj(-1)) / (2 * h)
    if np.isfinite(analytic) and abs(analytic - numeric) <= atol + rtol * abs(numeric):
        return NodeCheck(input_index=k, ok=True, **base)
    if out.size * arrays[k].size > _JACOBIAN_LIMIT:
        return NodeCheck(input_index=k, ok=False, analytic=analytic, numeric=numeric, reason="projected", **base)
    ja, jn = local_jacobians(fn, arrays, params, k)
    (r, c), _ = worst(ja, jn, atol, rtol)
    return NodeCheck(
        input_index=k,
        ok=False,
        analytic=float(ja[r, c]),
        numeric=float(jn[r, c]),
        out_element=tuple(int(i) for i in np.unravel_index(r, out.shape)),
        element=tuple(int(i) for i in np.unravel_index(c, arrays[k].shape)),
        **base,
    )


def local_jacobians(fn, arrays, params, k):
    """(analytic, numeric) Jacobians d out / d in_k of one node, each (out.size, in_k.size)."""
    _, out = _run(fn, arrays, params)
    rows = []
    for r in range(out.size):
        w = np.zeros(out.size)
        w[r] = 1.0
        rows.append(_vjp(fn, arrays, params, w.reshape(out.shape), k).ravel())
    analytic = np.stack(rows) if rows else np.zeros((0, arrays[k].size))
    x = np.array(arrays[k])

    def f(a):
        shifted = list(arrays)
        shifted[k] = a
        return _run(fn, shifted, params)[1].ravel()

    return analytic, numeric_jacobian(f, x)


def check_graph(*roots, atol=None, rtol=None, seed=0) -> GraphReport:
    """Check the local rule of every node that made `roots` (Tensors), newest first; returns a GraphReport.

    Each node's backward is compared with central differences of its own forward at the values
    it saw (float64). Build the graph under `ta.detect_anomaly()` to get each node's file:line.
    """
    for r in roots:
        if not isinstance(r, Tensor):
            raise TypeError(f"check_graph: expected Tensors, got {type(r).__name__}")
    checks = []
    for i, t in enumerate(_nodes(roots)):
        checks.extend(check_node(t, atol=atol, rtol=rtol, seed=seed + i))
    return GraphReport(checks)
