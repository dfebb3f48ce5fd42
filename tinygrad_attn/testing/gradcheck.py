"""Gradient checks against central differences (public: test your own ops).

`gradcheck` compares backward with central differences through a random projection of the
outputs (one backward, 2n forwards); when they disagree it computes the raw Jacobian of the
failing input and reports the worst derivative, then checks every node of the graph on its
own to name the op whose backward is wrong and where it was created. Frames of this module
are hidden from pytest tracebacks (`__tracebackhide__`), so a failure shows the test line and
the message.
"""

from __future__ import annotations

import numpy as np

from ..autograd import enable_grad, no_grad, record_sites
from ..record import record_backward
from ..record import record_backward as ta_record_backward
from ..tensor import Tensor
from .graph import check_graph
from .numeric import numeric_jacobian, tolerances_for, worst

_JACOBIAN_LIMIT = 200_000  # numeric Jacobian entries kept for a raw report
_ROWS_LIMIT = 400  # outputs: one backward each for the raw analytic Jacobian


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with the numeric one; the message says where.

    `argument`: which input of the checked function; `element`: the input element; `analytic` and
    `numeric`: the raw derivatives there (d output[`output`] / d input[`element`]); `op`, `site`:
    the first node (in backward order) whose own backward disagrees, when one was found;
    `input_index`: that node's input, or `argument` when no node was found; `order`: derivative order.
    """

    def __init__(
        self,
        message,
        *,
        input_index=None,
        element=None,
        analytic=None,
        numeric=None,
        argument=None,
        output=None,
        op=None,
        site=None,
        order=1,
        projected=None,
    ):
        super().__init__(message)
        self.input_index = input_index
        self.element = element
        self.analytic = analytic
        self.numeric = numeric
        self.argument = argument if argument is not None else input_index
        self.output = output
        self.op = op
        self.site = site
        self.order = order
        self.projected = projected


def _as_inputs(inputs, dtype=np.float64):
    """Fresh leaves of `dtype` that require grad (integer inputs stay constant)."""
    out = []
    for x in inputs:
        arr = np.asarray(x.data if isinstance(x, Tensor) else x)
        if arr.dtype.kind == "f":
            out.append(Tensor(arr.astype(dtype), requires_grad=True, name=getattr(x, "name", None)))
        else:
            out.append(Tensor(arr))
    return out


def _flatten_outputs(y, who="gradcheck"):
    ys = y if isinstance(y, (tuple, list)) else (y,)
    for t in ys:
        if not isinstance(t, Tensor):
            raise TypeError(f"{who}: fn must return a Tensor or a tuple of Tensors, got {type(t).__name__}")
    return ys


def _project(fn, xs, us):
    """<u, fn(xs)> as a Tensor (sum over every output)."""
    ys = _flatten_outputs(fn(*xs))
    total = None
    for y, u in zip(ys, us):
        term = (y * u).sum()
        total = term if total is None else total + term
    return total


def _outputs_flat(fn, xs):
    with no_grad():
        return np.concatenate([np.asarray(y.data, dtype=np.float64).ravel() for y in _flatten_outputs(fn(*xs))])


def _out_name(ys, k):
    """'out[1, 2]' (or 'out1[0]' with several outputs) for flat output index k."""
    for n, y in enumerate(ys):
        if k < y.size:
            j = tuple(int(i) for i in np.unravel_index(k, y.shape))
            name = "out" if len(ys) == 1 else f"out{n}"
            return name + _idx(j), (n, j)
        k -= y.size
    raise IndexError(k)  # pragma: no cover - k comes from the Jacobian's rows


def _idx(j):
    return "" if not j else "[" + ", ".join(str(int(k)) for k in j) + "]"


def gradcheck(
    fn, *inputs, eps=None, atol=None, rtol=None, seed=0, dtype=np.float64, localize=True, render_on_failure=None
):
    """Compare backward of `fn(*inputs)` with central differences; raise GradcheckError or return True.

    Float inputs are cast to `dtype` (float64 by default); the step (`eps`) and tolerances default
    to that dtype's (`numeric.step_for`, `numeric.tolerances_for`). Non-scalar outputs are reduced
    with a fixed random projection <u, fn(x)>; a failure is reported with raw derivatives.
    """
    __tracebackhide__ = True
    dflt_atol, dflt_rtol = tolerances_for(dtype)
    atol = dflt_atol if atol is None else atol
    rtol = dflt_rtol if rtol is None else rtol
    xs = _as_inputs(inputs, dtype)
    rng = np.random.default_rng(seed)
    with no_grad():
        ys = _flatten_outputs(fn(*xs))
    us = [rng.standard_normal(y.shape) for y in ys]
    u = np.concatenate([a.ravel() for a in us])
    with enable_grad():
        loss = _project(fn, xs, us)
    if not loss.requires_grad:
        raise GradcheckError("gradcheck: fn's output does not depend on any input that requires grad")
    loss.backward()
    for i, x in enumerate(xs):
        if not x.requires_grad:
            continue
        analytic = x.grad.data.astype(np.float64) if x.grad is not None else np.zeros(x.shape)
        full = u.size * x.size <= _JACOBIAN_LIMIT
        f = (lambda a: _outputs_flat(fn, xs)) if full else (lambda a: u @ _outputs_flat(fn, xs))
        jn = numeric_jacobian(f, x.data, eps)
        numeric = (u @ jn if full else jn[0]).reshape(x.shape)
        j, bad = worst(analytic, numeric, atol, rtol)
        if analytic.shape != numeric.shape or bad or not np.isfinite(analytic).all():
            raise _failure(fn, xs, ys, i, j, analytic, numeric, jn if full else None, atol, rtol, localize, us,
                           render_on_failure)  # fmt: skip
    return True


def _analytic_jacobian(fn, xs, ys, i):
    """d outputs / d xs[i] by one backward per output element: (n_out, xs[i].size)."""
    rows = []
    sizes = [y.size for y in ys]
    for k in range(sum(sizes)):
        e = np.zeros(sum(sizes))
        e[k] = 1.0
        es = np.split(e, np.cumsum(sizes)[:-1])
        for x in xs:
            x.grad = None
        with enable_grad():
            total = _project(fn, xs, [a.reshape(y.shape) for a, y in zip(es, ys)])
        g = None
        if total.requires_grad:
            total.backward()
            g = xs[i].grad
        rows.append(np.zeros(xs[i].size) if g is None else g.data.astype(np.float64).ravel())
    return np.stack(rows)


def _failure(fn, xs, ys, i, j, analytic, numeric, jn, atol, rtol, localize, us, render_path):
    """The GradcheckError for input i, with raw derivatives and the wrong node when one is found."""
    x = xs[i]
    name = f" ({x.name})" if x.name else ""
    pa, pn = float(analytic[j]), float(numeric[j])
    head = f"gradcheck: input {i}{name} of shape {x.shape}"
    info = dict(argument=i, input_index=i, projected=(pa, pn))
    if jn is not None and jn.shape[0] <= _ROWS_LIMIT:
        ja = _analytic_jacobian(fn, xs, ys, i)
        (r, c), _ = worst(ja, jn, atol, rtol)
        a, n = float(ja[r, c]), float(jn[r, c])
        el = tuple(int(k) for k in np.unravel_index(c, x.shape))
        out_name, out_index = _out_name(ys, r)
        msg = (
            f"{head}: d {out_name} / d x{i}{_idx(el)} = {a:.8g} by backward but {n:.8g} by central differences"
            f" (|diff| {abs(a - n):.3g}, atol {atol}, rtol {rtol})"
        )
        info.update(element=el, analytic=a, numeric=n, output=out_index)
    else:  # too large for a Jacobian: the projection is all there is
        msg = (
            f"{head}: worst element {_idx(j) or '()'}: projected gradient <u, J e_j> {pa:.8g} by backward"
            f" but {pn:.8g} by central differences (|diff| {abs(pa - pn):.3g}, atol {atol}, rtol {rtol})"
        )
        info.update(element=tuple(int(k) for k in j), analytic=pa, numeric=pn)
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
        ys = _flatten_outputs(fn(*leaves))
    pairs = [(y, u) for y, u in zip(ys, us) if y.requires_grad]
    if not pairs:
        return None, (leaves, ys)
    report = check_graph(*[y for y, _ in pairs], grads=[u for _, u in pairs])
    return report.first_failure, (leaves, ys)


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
    g = viz.draw_gradcheck_failure(rec, leaves[info["argument"]], info["element"], info["analytic"], info["numeric"])
    drawn = g.node_for(node.tensor) if node is not None else None
    if drawn is not None:
        drawn.outline = FAIL
        drawn.label = drawn.label + [f"wrong backward: {node.op}"]
        drawn.tooltip = drawn.tooltip + [node.describe()]
        g._source = None  # the DOT text is cached; the node changed after draw
    g.render(path)
    also = f" (and the node {node.op} whose backward is wrong)" if drawn is not None else ""
    return f"\n  graph with the disagreeing input outlined: {path}{also}"


def vjp_check(fn, *inputs, order=2, eps=None, atol=None, rtol=None, seed=0, _level=1):
    """Check <u, J v> (numeric, directional difference) against <J^T u, v> (backward).

    With order=2 the same identity is checked again on x -> J(x)^T u, built with
    create_graph=True, so second derivatives are checked too. Returns True or raises;
    the error's `.order` is the derivative order that failed.
    """
    __tracebackhide__ = True
    if order < 1:
        raise ValueError(f"vjp_check: order must be >= 1, got {order}")
    dflt_atol, dflt_rtol = tolerances_for(np.float64)
    atol = dflt_atol if atol is None else atol
    rtol = dflt_rtol if rtol is None else rtol
    eps = 1e-6 if eps is None else eps
    xs = _as_inputs(inputs)
    rng = np.random.default_rng(seed)
    with no_grad():
        ys = _flatten_outputs(fn(*xs))
    us = [rng.standard_normal(y.shape) for y in ys]
    vs = [rng.standard_normal(x.shape) if x.requires_grad else None for x in xs]

    def proj(*args):
        with no_grad():
            return _project(fn, args, us).item()

    shifted = [Tensor(x.data + eps * v, requires_grad=True) if v is not None else x for x, v in zip(xs, vs)]
    back = [Tensor(x.data - eps * v, requires_grad=True) if v is not None else x for x, v in zip(xs, vs)]
    numeric = (proj(*shifted) - proj(*back)) / (2 * eps)
    loss = _project(fn, xs, us)
    if loss.requires_grad:  # a constant (e.g. the gradient of a linear op) has no graph
        loss.backward()
    analytic = sum(float((x.grad.data * v).sum()) for x, v in zip(xs, vs) if v is not None and x.grad is not None)
    if not abs(analytic - numeric) <= atol + rtol * abs(numeric):
        what = "backward" if _level == 1 else f"the derivative of order {_level} (backward of a create_graph backward)"
        msg = f"vjp_check (order {_level}): {what}: <J^T u, v> = {analytic:.8g} but numeric <u, J v> = {numeric:.8g}"
        dropped = getattr(fn, "dropped", False)
        if _level > 1 and dropped:
            who = dropped if isinstance(dropped, str) else "some backward"
            msg += (
                f"\n  the gradient from create_graph has no graph (requires_grad=False): {who};"
                " a backward computed from plain arrays (.data, np.*) loses its own derivative"
            )
        raise GradcheckError(msg, analytic=analytic, numeric=numeric, order=_level)
    if order > 1:
        diff_idx = [i for i, v in enumerate(vs) if v is not None]
        vjp_check(_GradOf(fn, us, diff_idx), *xs, order=order - 1, eps=eps, atol=atol, rtol=rtol, seed=seed + 1,
                  _level=_level + 1)  # fmt: skip
    return True


class _GradOf:
    """x -> dL/dx with L = <u, fn(x)>, built with create_graph so it can be differentiated."""

    def __init__(self, fn, us, diff_idx):
        self.fn, self.us, self.diff_idx = fn, us, diff_idx
        self.dropped = False  # set when a gradient came back without a graph

    def __call__(self, *args):
        __tracebackhide__ = True
        with enable_grad():
            total = _project(self.fn, args, self.us)
            if not total.requires_grad:
                return tuple(Tensor(np.zeros(args[i].shape)) for i in self.diff_idx)
            leaves = [a for a in args if a.requires_grad]
            _zero(leaves)
            total.backward(create_graph=True)
            grads = []
            for i in self.diff_idx:
                g = args[i].grad
                if g is not None and not isinstance(g, Tensor):
                    raise GradcheckError(
                        f"vjp_check: under create_graph the gradient of input {i} is a {type(g).__name__}, not a"
                        " Tensor: some op's backward returned arrays (the graph was dropped)",
                        argument=i,
                        order=2,
                    )
                grads.append(g if g is not None else Tensor(np.zeros(args[i].shape)))
            lost = any(args[i].grad is not None and not args[i].grad.requires_grad for i in self.diff_idx)
            _zero(leaves)
            if lost and any(a.requires_grad for a in args):
                self.dropped = self.dropped or _array_backward(total) or True
                _zero(leaves)
            return tuple(grads)


def _array_backward(root):
    """'Op's backward returned ndarray for input k' for the first node (in the engine's order) that does so."""
    with record_backward() as rec:
        root.backward(create_graph=True)
    for step in rec.steps:
        fn, t = step.fn, step.tensor
        g = Tensor(np.ones(t.shape), requires_grad=True)
        try:
            with enable_grad():
                gs = fn.backward(g, fn.inputs, t)
        except Exception:  # a rule that needs its saved values freed: not the one we are after
            continue
        for k, r in enumerate(gs if isinstance(gs, tuple) else (gs,)):
            if r is not None and not isinstance(r, Tensor):
                return f"{fn.name}'s backward returned {type(r).__name__} for input {k}"
    return None


def _zero(ts):
    for t in ts:
        t.grad = None
