"""Graph-level properties of backprop, as ready-made checks over `strategies.op_graphs()`.

    from hypothesis import given
    from tinygrad_attn.testing import properties, strategies as tst

    @given(tst.graph_cases())                 # inputs kept away from every kink
    def test_backprop(case):
        graph, xs = case
        properties.check_all(graph, *xs)

- linearity: J^T (a u + b w) = a J^T u + b J^T w; backward is linear in the gradient that arrives;
- adjoint: <v, J u> = <J^T v, u>, J u by central differences along u, J^T v by one backward
  (the identity HIPS autograd's `check_grads` rests on);
- fan-out: an input used k times receives the sum of the gradients its k uses receive when each
  use has its own copy;
- broadcast: gradients through numpy broadcasting equal those with every broadcast written out
  (reshape, then concat of copies): the broadcast input gets the *sum* over the copies.

Each returns True or raises `PropertyError` (a GradcheckError) naming the property, the input
and the worst element; when a node's own backward is wrong, it names that node and its line too.
"""

from __future__ import annotations

import numpy as np

from ..autograd import enable_grad, no_grad
from ..tensor import Tensor
from .gradcheck import GradcheckError, _flatten_outputs, _idx, _localize
from .numeric import step_for, tolerances_for

__all__ = ["PropertyError", "check_adjoint", "check_all", "check_broadcast", "check_fan_out", "check_linearity"]

_EXACT = 1e-9  # relative tolerance where both sides are the same sums in another order


class PropertyError(GradcheckError):
    """A graph-level property of backprop does not hold; `.property` says which."""

    def __init__(self, message, *, which, **info):
        super().__init__(message, **info)
        self.property = which  # "linearity", "adjoint", "fan-out" or "broadcast"


def _leaves(inputs):
    return [
        Tensor(np.array(x.data if isinstance(x, Tensor) else x, dtype=np.float64), requires_grad=True) for x in inputs
    ]


def _backward(fn, inputs, cotangents, build=None):
    """Gradients of <cotangents, fn(*leaves)> for fresh float64 leaves: (leaves, grads as arrays, outputs)."""
    xs = _leaves(inputs)
    with enable_grad():
        ys = _flatten_outputs(build(xs) if build is not None else fn(*xs), "properties")
    for y, u in zip(ys, cotangents):
        if y.requires_grad:
            y.backward(u, retain_graph=True)
    grads = [np.zeros(x.shape) if x.grad is None else np.array(x.grad.data, dtype=np.float64) for x in xs]
    return xs, grads, ys


def _cotangents(fn, inputs, rng):
    with no_grad():
        ys = _flatten_outputs(fn(*_leaves(inputs)), "properties")
    return [rng.standard_normal(y.shape) for y in ys]


def _worst(lhs, rhs, atol, rtol):
    """(input index, element, lhs value, rhs value) of the largest excess over atol + rtol |rhs|, or None."""
    found, most = None, 0.0
    for i, (a, b) in enumerate(zip(lhs, rhs)):
        excess = np.abs(a - b) - (atol + rtol * np.abs(b))
        excess = np.where(np.isfinite(excess), excess, np.inf)
        if excess.size and excess.max() > most:
            j = np.unravel_index(int(np.argmax(excess)), excess.shape)
            found, most = (i, tuple(int(k) for k in j), float(a[j]), float(b[j])), float(excess[j])
    return found


def _scale(*arrays):
    return max([float(np.abs(a).max(initial=0.0)) for group in arrays for a in group] + [1.0])


def _fail(prop, fn, inputs, cotangents, head, **info):
    """The PropertyError, with the first node whose own backward is wrong when one is found."""
    node, _ = _localize(fn, _leaves(inputs), cotangents)
    if node is not None:
        head += f"\n  first node whose own backward is wrong: {node.describe()}"
        info.update(op=node.op, site=node.site, input_index=node.input_index)
    where = f" in {fn!r}" if hasattr(fn, "expression") else ""
    return PropertyError(f"{prop}{where}: {head}", which=prop, **info)


def check_linearity(fn, *inputs, seed=0):
    """J^T (a u + b w) == a J^T u + b J^T w for random cotangents u, w and numbers a, b (a fresh graph each)."""
    __tracebackhide__ = True
    rng = np.random.default_rng(seed)
    us, ws = _cotangents(fn, inputs, rng), _cotangents(fn, inputs, rng)
    a, b = rng.standard_normal(2)
    _, gu, _ = _backward(fn, inputs, us)
    _, gw, _ = _backward(fn, inputs, ws)
    mixed = [a * u + b * w for u, w in zip(us, ws)]
    _, gm, _ = _backward(fn, inputs, mixed)
    combined = [a * x + b * y for x, y in zip(gu, gw)]
    bad = _worst(gm, combined, _EXACT * _scale(gu, gw, gm), _EXACT)
    if bad is None:
        return True
    i, j, lhs, rhs = bad
    raise _fail(
        "linearity", fn, inputs, mixed,
        f"input {i}{_idx(j)}: J^T (a u + b w) = {lhs:.10g} but a J^T u + b J^T w = {rhs:.10g}"
        f" (a = {a:.4g}, b = {b:.4g}): backward is not linear in the gradient that arrives",
        argument=i, input_index=i, element=j, analytic=lhs, numeric=rhs,
    )  # fmt: skip


def check_adjoint(fn, *inputs, seed=0, atol=None, rtol=None):
    """<v, J u> (central difference of <v, fn> along u) == <J^T v, u> (one backward) for random u, v.

    The step is float64's (`step_for`) times max(1, |x|); an OpGraph whose inputs lie within ten
    steps of a kink is refused (ValueError): across a kink the difference measures no derivative.
    """
    __tracebackhide__ = True
    dflt_atol, dflt_rtol = tolerances_for(np.float64)
    atol = dflt_atol if atol is None else atol
    rtol = dflt_rtol if rtol is None else rtol
    rng = np.random.default_rng(seed)
    vs = _cotangents(fn, inputs, rng)
    xs = [np.array(x.data if isinstance(x, Tensor) else x, dtype=np.float64) for x in inputs]
    us = [rng.standard_normal(x.shape) for x in xs]
    h = step_for(np.float64) * max([1.0] + [float(np.abs(x).max(initial=0.0)) for x in xs])
    reach = h * max([1.0] + [float(np.abs(u).max(initial=0.0)) for u in us])
    if hasattr(fn, "kink_distance") and fn.kink_distance(*xs) <= 10 * reach:
        raise ValueError(
            f"check_adjoint: an input is within {10 * reach:.2g} of a kink of {fn!r}; draw it farther away"
        )

    def proj(sign):
        with no_grad():
            ys = _flatten_outputs(fn(*[Tensor(x + sign * h * u) for x, u in zip(xs, us)]), "properties")
        return sum(float((np.asarray(y.data, dtype=np.float64) * v).sum()) for y, v in zip(ys, vs))

    numeric = (proj(1) - proj(-1)) / (2 * h)
    _, grads, _ = _backward(fn, inputs, vs)
    analytic = float(sum((g * u).sum() for g, u in zip(grads, us)))
    if abs(analytic - numeric) <= atol + rtol * abs(numeric):
        return True
    raise _fail(
        "adjoint", fn, inputs, vs,
        f"<J^T v, u> = {analytic:.10g} by backward but <v, J u> = {numeric:.10g} by central differences"
        f" (|diff| {abs(analytic - numeric):.3g}, atol {atol}, rtol {rtol})",
        analytic=analytic, numeric=numeric,
    )  # fmt: skip


def _needs_graph(graph, who):
    if not hasattr(graph, "evaluate"):
        raise TypeError(f"{who}: needs an OpGraph (it rebuilds the graph use by use), got {type(graph).__name__}")


def _per_use(graph, inputs, cotangents, explicit_broadcast):
    """Gradients of every use of every input when each use has its own leaf: [(input index, grad)]."""
    holder = {}

    def build(xs):
        y, uses = graph.evaluate(*xs, untie=True, explicit_broadcast=explicit_broadcast)
        holder["uses"] = uses
        return y

    _backward(graph, inputs, cotangents, build)
    return [(i, np.zeros(t.shape) if t.grad is None else t.grad.data.astype(np.float64)) for i, t in holder["uses"]]


def check_fan_out(graph, *inputs, seed=0):
    """Each input's gradient == the sum of the gradients of its uses, each use given its own copy (OpGraph)."""
    __tracebackhide__ = True
    _needs_graph(graph, "check_fan_out")
    us = _cotangents(graph, inputs, np.random.default_rng(seed))
    _, tied, _ = _backward(graph, inputs, us)
    per_use = _per_use(graph, inputs, us, explicit_broadcast=False)
    summed = [np.zeros(g.shape) for g in tied]
    for i, g in per_use:
        summed[i] = summed[i] + g
    bad = _worst(tied, summed, _EXACT * _scale(tied, summed), _EXACT)
    if bad is None:
        return True
    i, j, lhs, rhs = bad
    k = graph.uses()[i]
    raise _fail(
        "fan-out", graph, inputs, us,
        f"input {i} is used {k} time{'s' * (k != 1)}: its gradient{_idx(j)} = {lhs:.10g}, but its uses, each"
        f" given its own copy, receive gradients that sum to {rhs:.10g}",
        argument=i, input_index=i, element=j, analytic=lhs, numeric=rhs,
    )  # fmt: skip


def check_broadcast(graph, *inputs, seed=0):
    """Gradients with numpy broadcasting == gradients with every broadcast written out by reshape + concat (OpGraph)."""
    __tracebackhide__ = True
    _needs_graph(graph, "check_broadcast")
    us = _cotangents(graph, inputs, np.random.default_rng(seed))
    implicit = _per_use(graph, inputs, us, explicit_broadcast=False)
    explicit = _per_use(graph, inputs, us, explicit_broadcast=True)
    lhs_all, rhs_all = [g for _, g in implicit], [g for _, g in explicit]
    bad = _worst(lhs_all, rhs_all, _EXACT * _scale(lhs_all, rhs_all), _EXACT)
    if bad is None:
        return True
    n, j, lhs, rhs = bad
    i = implicit[n][0]
    k = sum(1 for m, _ in implicit[: n + 1] if m == i)
    use = f" (use {k} of {graph.uses()[i]})" if graph.uses()[i] > 1 else ""
    raise _fail(
        "broadcast", graph, inputs, us,
        f"input {i}{use} of shape {lhs_all[n].shape}: gradient{_idx(j)} = {lhs:.10g}"
        f" through numpy broadcasting but {rhs:.10g} with the broadcast written out (reshape + concat)",
        argument=i, input_index=i, element=j, analytic=lhs, numeric=rhs,
    )  # fmt: skip


def check_all(graph, *inputs, seed=0):
    """All four properties of an OpGraph at `inputs` (keep them away from kinks: `strategies.graph_cases`)."""
    __tracebackhide__ = True
    check_linearity(graph, *inputs, seed=seed)
    check_adjoint(graph, *inputs, seed=seed)
    check_fan_out(graph, *inputs, seed=seed)
    check_broadcast(graph, *inputs, seed=seed)
    return True
