"""Gradient checks against central differences (public: test your own ops).

`gradcheck(fn, *inputs)` compares backward with central differences of fn along a few random
directions (`directional`: Richardson-extrapolated differences, a tolerance measured from the
function's own values, backward also run at a point next to x). Its cost does not grow with the
number of input elements while the gradient is right. When a direction disagrees, the search
halves the coordinates until one element is left and reports its raw derivative
d out[o] / d x[k] (small inputs: from the dense Jacobian, the worst one), then checks every node
of the graph on its own to name the op whose backward is wrong and where it was created.
`full=True` compares every element by its own central difference instead (`dense`).

What a check guarantees, and what it cannot see: docs/checking.md. Frames of this module are
hidden from pytest tracebacks (`__tracebackhide__`): a failure shows the test line and the message.
"""

from __future__ import annotations

import numpy as np

from .. import Tensor, enable_grad, no_grad, record_sites
from .. import record_backward as ta_record_backward
from . import directional
from .calls import as_inputs, flatten_outputs, idx, out_name, outputs_flat, project, split_cotangent
from .dense import ROWS_LIMIT, dense_check
from .error import GradcheckError
from .graph import check_graph
from .numeric import steps, tolerances_for

# the names other modules of testing (and users' code) imported before the split
_as_inputs, _flatten_outputs, _idx, _out_name, _project, _outputs_flat = (
    as_inputs, flatten_outputs, idx, out_name, project, outputs_flat
)  # fmt: skip

DENSE_UP_TO = 32  # float elements in all, at most: the dense check (2n forwards) costs less than the directions
DENSE_REPORT = 256  # float elements in all, at most: a failure is reported from the dense Jacobian (the worst entry)
_NODE_DIRECTIONS = 2  # per node, when a failure looks for the wrong node (the function's own check found the error)

__all__ = ["DENSE_UP_TO", "GradcheckError", "gradcheck"]


def gradcheck(
    fn,
    *inputs,
    eps=None,
    atol=None,
    rtol=None,
    seed=0,
    dtype=np.float64,
    localize=True,
    render_on_failure=None,
    full=False,
    directions=4,
    dense_up_to=DENSE_UP_TO,
):
    """Compare backward of `fn(*inputs)` with central differences; raise GradcheckError or return True.

    Float inputs are cast to `dtype` (float64 by default); the step is `eps` (absolute) or the
    dtype's own (`numeric.step_for`) times max(1, |x|) per element.

    full=False (default): `directions` rounds, each a random cotangent v (signs) and direction d
    (Gaussian, times the step): backward's <J^T v, d> against Richardson-extrapolated central
    differences of <v, fn> along d, at x and at x + h d. The tolerance is measured from fn's own
    values (truncation and round-off of the differences), not loosened with the input size; atol
    and rtol, when given, add the per-element slack atol + rtol |g_k| summed over the direction.
    A disagreement is searched down to one element by halving the coordinates (about log2(n)
    probes of six forwards). Guarantee: an element k whose gradient (of <v, fn>) is off by e_k
    is missed by one round with probability at most 1.6 tau / (|e_k| h_k), tau the tolerance
    (`GradcheckError.tolerance`); see docs/checking.md.

    full=True, and inputs of at most `dense_up_to` float elements in all (32; there it costs less):
    every element by its own central difference (two forwards each), compared with atol + rtol
    |numeric| (the dtype's `numeric.tolerances_for` by default). dense_up_to=0: random directions
    whatever the size.

    The error names the input, the element, the raw derivative d out[o] / d x[k] both ways, and
    (localize=True) the first node whose own backward is wrong and the line that created it;
    render_on_failure=PATH draws the graph with that input outlined.
    """
    __tracebackhide__ = True
    xs = as_inputs(inputs, dtype)
    with no_grad():
        ys = flatten_outputs(fn(*xs))
    if full or dense(xs, dense_up_to):
        failure = _dense(fn, xs, ys, eps, atol, rtol, dtype, seed, strict=True)
        if failure is None:
            return True
        raise _dense_error(fn, xs, ys, failure, "gradcheck", None, localize, render_on_failure)
    found = check(fn, xs, ys, eps=eps, atol=atol, rtol=rtol, seed=seed, dtype=dtype, directions=directions)
    if found is None:
        return True
    raise report(fn, xs, ys, found, "gradcheck", localize, render_on_failure)


def check(fn, xs, ys, *, eps, atol, rtol, seed, dtype, directions, strict=True):
    """The fast check of fn at the leaves xs: None when it passes, else what `report` turns into the error."""
    subject, idxs = _subject(fn, xs, ys, eps, dtype, strict)
    slack = (atol or 0.0, rtol or 0.0)
    scr = directional.screen(subject, directions, seed, *slack)
    if scr.ok:
        return None
    found = dict(subject=subject, idxs=idxs, screen=scr, eps=eps, dtype=dtype)
    if scr.noisy is not None:
        return found
    k, where = scr.flag if scr.flag is not None else scr.nonfinite[:2]
    r = scr.rounds[k]
    point = subject.point() if where == "x" else r.p1
    n = sum(t.size for t in subject.targets)
    if n <= DENSE_REPORT and len(r.v) <= ROWS_LIMIT:  # small: the dense Jacobian names the worst element
        original = subject.point()
        subject.load(point)
        try:
            failure = _dense(fn, xs, ys, eps, atol, rtol, dtype, seed)
        finally:
            subject.load(original)
        if failure is not None:
            found.update(dense=failure, where=where, point=point)
            return found
    finding = directional.locate(subject, scr, *slack)
    found.update(finding=finding, where=finding.where, point=point)
    return found


def _subject(fn, xs, ys, eps, dtype, strict):
    """fn as a directional.Subject: the float leaves' own arrays, perturbed in place."""
    idxs = [i for i, x in enumerate(xs) if x.requires_grad]
    targets = [directional.Target(xs[i].data, steps(xs[i].data, eps, dtype).reshape(-1), f"input {i}") for i in idxs]

    def vjp(v):
        for x in xs:
            x.grad = None
        with enable_grad():
            total = project(fn, xs, split_cotangent(v, ys))
        if total is None or not total.requires_grad:
            if strict:
                raise GradcheckError("gradcheck: fn's output does not depend on any input that requires grad")
            return [np.zeros(xs[i].size) for i in idxs]
        total.backward()
        return [np.zeros(xs[i].size) if xs[i].grad is None else xs[i].grad.data for i in idxs]

    working = max([np.dtype(dtype)] + [y.dtype for y in ys if y.dtype.kind == "f"], key=lambda t: np.finfo(t).eps)
    subject = directional.Subject(
        targets, lambda: outputs_flat(fn, xs), vjp, np.finfo(working).eps, tolerances_for(working)[0]
    )
    return subject, idxs


def _projections(ys, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(y.shape) for y in ys]


def dense(xs, dense_up_to):
    """Whether inputs this small get the dense check (it costs less than the directions there)."""
    return sum(x.size for x in xs if x.requires_grad) <= dense_up_to


def _dense(fn, xs, ys, eps, atol, rtol, dtype, seed, strict=False):
    dflt_atol, dflt_rtol = tolerances_for(dtype)
    atol = dflt_atol if atol is None else atol
    rtol = dflt_rtol if rtol is None else rtol
    if strict:
        with enable_grad():
            if not any(y.requires_grad for y in flatten_outputs(fn(*xs))):
                raise GradcheckError("gradcheck: fn's output does not depend on any input that requires grad")
    failure = dense_check(fn, xs, ys, _projections(ys, seed), eps, atol, rtol)
    if failure is not None:
        failure.info["us"] = _projections(ys, seed)
    return failure


def _head(who, xs, i, where):
    x = xs[i]
    name = f" ({x.name})" if x.name else ""
    at = "" if where in (None, "x") else " at x + h d (next to the point given, where the differences look)"
    return f"{who}: input {i}{name} of shape {x.shape}{at}"


def report(fn, xs, ys, found, who, localize, render_path, note=None, order=1):
    """The GradcheckError for what `check` found; the note (if any) goes on its second line."""
    __tracebackhide__ = True
    subject, scr = found["subject"], found["screen"]
    if scr.noisy is not None:
        return GradcheckError(noisy_text(who, scr.noisy, found["eps"], found["dtype"], subject), order=order)
    where = found["where"]
    original = subject.point()
    subject.load(found["point"])
    try:
        if "dense" in found:
            return _dense_error(fn, xs, ys, found["dense"], who, where, localize, render_path, note, order)
        return _fast_error(fn, xs, ys, found, who, localize, render_path, note, order)
    finally:
        subject.load(original)


def _dense_error(fn, xs, ys, failure, who, where, localize, render_path, note=None, order=1):
    info = dict(failure.info)
    us = info.pop("us")
    info.update(where=where or "x", order=order)
    msg = f"{_head(who, xs, failure.i, where)}: {failure.text}"
    if note:
        msg += "\n  " + note
    return _with_node(fn, xs, us, msg, info, localize, render_path)


def _fast_error(fn, xs, ys, found, who, localize, render_path, note, order):
    f, idxs, scr = found["finding"], found["idxs"], found["screen"]
    top = f.probe
    k, _ = scr.flag if scr.flag is not None else scr.nonfinite[:2]
    us = split_cotangent(scr.rounds[k].v, ys)
    along = (
        f"along a random direction d, <v, J d> = {top.analytic:.10g} by backward but {top.numeric:.10g} by"
        f" central differences (|diff| {abs(top.E):.3g}, tolerance {top.tau + top.slack:.3g} from the differences'"
        f" own error)"
        if top is not None
        else "backward is not finite"
    )
    info = dict(where=f.where, order=order, tolerance=None if top is None else top.tau + top.slack)
    if f.kind == "spread":
        msg = (
            f"{who}: {along}{_where_note(f.where)}, but halving the coordinates ({f.probes} probes) did not end at"
            " one element wrong on its own: the error is spread over many elements, each too small to see alone."
            " Pass atol/rtol to accept errors that small, or full=True to compare every element"
        )
        if note:
            msg += "\n  " + note
        info.update(analytic=top.analytic, numeric=top.numeric, projected=(top.analytic, top.numeric))
        return _with_node(fn, xs, us, msg, info, localize, render_path)
    i = idxs[f.target]
    el = tuple(int(j) for j in np.unravel_index(f.index, xs[i].shape))
    name, out_index = out_name(ys, f.output)
    a, n = f.raw_analytic, f.raw_numeric
    msg = (
        f"{_head(who, xs, i, f.where)}: d {name} / d x{i}{idx(el)} = {a:.8g} by backward but {n:.8g} by central"
        f" differences (|diff| {abs(a - n):.3g})"
    )
    if note:
        msg += "\n  " + note
    msg += (
        f"\n  found {along}; halving the coordinates ({f.probes} probes) ends at x{i}{idx(el)}, where the gradient"
        f" of <v, out> is {f.analytic:.10g} by backward and {f.numeric:.10g} by central differences"
    )
    if f.where != "x":
        msg += "\n  at x itself backward agreed along every direction: it is right at the point given only"
    info.update(argument=i, input_index=i, element=el, analytic=a, numeric=n, output=out_index)
    info["projected"] = (f.analytic, f.numeric)
    return _with_node(fn, xs, us, msg, info, localize, render_path)


def _where_note(where):
    return "" if where == "x" else " (at x + h d, next to the point given)"


def noisy_text(who, r, eps, dtype, subject):
    """The message of a check that cannot tell right from wrong: the differences' own error is too large."""
    b = r.base
    step = f"eps={eps:g}" if eps is not None else f"the automatic step for {np.dtype(dtype)}"
    kinds = {float(np.finfo(t).eps): str(np.dtype(t)) for t in (np.float16, np.float32, np.float64)}
    kind = kinds.get(subject.eps, f"machine epsilon {subject.eps:g}")
    err = b.truncation + directional._E_NOISE * b.noise + b.floor
    return (
        f"{who}: the central differences are too noisy to check anything ({kind} values, {step}): their own"
        f" error along a random direction is {err:.3g} (steps h and 2h disagree by {b.truncation:.3g}, the"
        f" round-off of the values is about {b.floor:.3g}), more than {directional.NOISY:.0%} of the directional"
        f" derivative ({max(b.scale, abs(b.numeric)):.3g}); use the dtype's own step (eps=None) or compute in float64"
    )


def _with_node(fn, xs, us, msg, info, localize, render_path):
    node, graph = _localize(fn, xs, us) if localize or render_path is not None else (None, None)
    if node is not None and localize:
        msg += f"\n  first node whose own backward is wrong: {node.describe()}"
        info.update(op=node.op, site=node.site, input_index=node.input_index)
    if render_path is not None:
        msg += _render_failure(graph, us, node, info, render_path)
    return GradcheckError(msg, **info)


def _localize(fn, xs, us):
    """Rebuild fn's graph under `record_sites()` and check the nodes its backward reaches, in the engine's order.

    Returns (the first failing NodeCheck or None, (leaves, outputs)).
    """
    leaves = [Tensor(x.data.copy(), requires_grad=x.requires_grad, name=x.name) for x in xs]
    with enable_grad(), record_sites():
        ys = flatten_outputs(fn(*leaves))
    pairs = [(y, u) for y, u in zip(ys, us) if y.requires_grad]
    if not pairs:
        return None, (leaves, ys)
    report_ = check_graph(*[y for y, _ in pairs], grads=[u for _, u in pairs], directions=_NODE_DIRECTIONS)
    return report_.first_failure, (leaves, ys)


def _render_failure(graph, us, node, info, path):
    """Draw the function's own graph (not the check's projection): the input outlined, and the wrong node too."""
    try:
        import viz
        from viz.colors import FAIL
    except ImportError:  # pragma: no cover - viz ships with the package
        return ""
    leaves, ys = graph
    root = ys[0]
    with ta_record_backward(accumulate=False) as rec:  # edges labelled with what each backward passed on
        root.backward(np.asarray(us[0], dtype=root.dtype), retain_graph=True)
    arg = info.get("argument") or 0
    g = viz.draw_gradcheck_failure(rec, leaves[arg], info.get("element") or (), info["analytic"], info["numeric"])
    drawn = g.node_for(node.tensor) if node is not None else None
    if drawn is not None:
        drawn.outline = FAIL
        drawn.label = drawn.label + [f"wrong backward: {node.op}"]
        drawn.tooltip = drawn.tooltip + [node.describe()]
        g._source = None  # the DOT text is cached; the node changed after draw
    g.render(path)
    also = f" (and the node {node.op} whose backward is wrong)" if drawn is not None else ""
    return f"\n  graph with the disagreeing input outlined: {path}{also}"
