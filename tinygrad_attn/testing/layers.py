"""Check hand-written layers (the book's protocol) and forward/backward function pairs (CS231n style).

A layer in the style of "Deep Learning from Scratch 2" has `params` and `grads` (lists of arrays
of the same shapes), `forward(*xs)` and `backward(*douts)` returning the input gradients, with
the parameter gradients written into `grads`. `check_layer` checks all of them against central
differences of `forward` the way `gradcheck` checks a function: along random directions by
default (the parameters are perturbed in place, then put back), element by element with
full=True. A failure names the gradient and its element in the layer's own words: `dW[7, 9]`.
"""

from __future__ import annotations

import numpy as np

from . import directional
from .calls import idx, out_name, split_cotangent
from .error import GradcheckError
from .gradcheck import DENSE_REPORT, DENSE_UP_TO, noisy_text
from .layer_names import input_names, param_names
from .numeric import numeric_jacobian, steps, tolerances_for, worst

_ROWS_LIMIT = 400  # output elements: one forward and backward each for the raw analytic Jacobian
_JACOBIAN_LIMIT = 200_000  # entries of d outputs / d target worth computing for the report


def _outputs(out, who):
    outs = tuple(out) if isinstance(out, (tuple, list)) else (out,)
    for o in outs:
        if not isinstance(o, np.ndarray) or o.dtype.kind != "f":
            what = type(o).__name__ if not isinstance(o, np.ndarray) else f"array of dtype {o.dtype}"
            raise TypeError(f"{who}: forward must return float arrays (or a tuple of them), got {what}")
    return outs


def _lowest_precision(outs):
    """The output dtype with the largest machine epsilon: it sets the step and the tolerance."""
    return max((o.dtype for o in outs), key=lambda d: np.finfo(d).eps)


def _input_grads(dxs, xs, who):
    """Map what backward returned onto the float inputs: {input index: gradient}."""
    floats = [i for i, x in enumerate(xs) if x.dtype.kind == "f"]
    if dxs is None:
        dxs = ()
    elif not isinstance(dxs, (tuple, list)):
        dxs = (dxs,)
    if len(dxs) == len(xs):
        pairs = [(i, g) for i, g in enumerate(dxs) if i in floats]
    elif len(dxs) == len(floats):
        pairs = list(zip(floats, dxs))
    else:
        raise GradcheckError(
            f"{who}: backward returned {len(dxs)} input gradients for {len(xs)} inputs ({len(floats)} of them float)"
        )
    out = {}
    for i, g in pairs:
        if g is None:
            raise GradcheckError(f"{who}: backward returned None for float input {i} of shape {xs[i].shape}")
        g = np.asarray(g, dtype=np.float64)
        if g.shape != xs[i].shape:
            raise GradcheckError(
                f"{who}: backward returned a gradient of shape {g.shape} for input {i} of shape {xs[i].shape}"
            )
        out[i] = g
    return out


class _Checked:
    """The layer, its inputs (our copies) and the arrays checked: float inputs first, then params."""

    def __init__(self, layer, inputs, who, forward_names):
        self.layer, self.who = layer, who
        self.params, self.grads = list(getattr(layer, "params", [])), list(getattr(layer, "grads", []))
        if len(self.params) != len(self.grads):
            raise ValueError(f"{who}: {len(self.params)} params but {len(self.grads)} grads")
        for i, (p, g) in enumerate(zip(self.params, self.grads)):
            if np.shape(p) != np.shape(g):
                raise ValueError(f"{who}: params[{i}] has shape {np.shape(p)} but grads[{i}] has shape {np.shape(g)}")
        self.xs = [np.array(x, order="C") for x in inputs]
        self.outs = _outputs(layer.forward(*[x.copy() for x in self.xs]), who)
        self.dtype = _lowest_precision(self.outs)
        xnames = input_names(forward_names, len(self.xs))
        pnames = param_names(layer, self.params)
        floats = [i for i, x in enumerate(self.xs) if x.dtype.kind == "f"]
        # (label, array, name): label as the messages always said it, name the layer's own (None if unknown)
        self.checked = [(f"input {i}", self.xs[i], xnames[i]) for i in floats]
        self.checked += [(f"params[{i}]", p, pnames[i]) for i, p in enumerate(self.params)]

    def forward(self):
        return _outputs(self.layer.forward(*[x.copy() for x in self.xs]), self.who)

    def outputs_flat(self):
        return np.concatenate([y.astype(np.float64).ravel() for y in self.forward()])

    def gradients(self, douts):
        """The gradient of every checked array for one dout per output (forward first: backward reads its cache)."""
        self.forward()
        for g in self.grads:
            g[...] = 0  # a layer that adds into grads must start from zero
        dx = _input_grads(self.layer.backward(*[d.copy() for d in douts]), self.xs, self.who)
        now = list(getattr(self.layer, "grads", []))
        for i, g in enumerate(self.grads):
            if i < len(now) and now[i] is not g:
                raise GradcheckError(
                    f"{self.who}: backward rebinds self.grads[{i}] to a new array instead of writing into the one "
                    f"it had (self.grads[{i}][...] = ...): an optimizer holding the original never sees this "
                    "gradient",
                    argument=f"params[{i}]",
                )
        out = [dx[int(label.split()[1])] for label, _, _ in self.checked if label.startswith("input")]
        return out + [np.array(g, dtype=np.float64) for g in self.grads]  # copies: grads are written in place

    def douts(self, v):
        return [a.astype(o.dtype) for a, o in zip(split_cotangent(v, self.outs), self.outs)]


def check_layer(
    layer, *inputs, seed=0, eps=None, atol=None, rtol=None, name=None, full=False, directions=4, dense_up_to=DENSE_UP_TO
):
    """Check a book-style layer's backward (input gradients and `grads`) against central differences.

    inputs: arrays for `forward` (integer arrays are constants, e.g. token ids). The step and the
    tolerances follow the dtype of what forward returns. full=False (default): random directions,
    cost independent of the number of parameters, as in `gradcheck` (atol/rtol, when given, add
    per-element slack); full=True, and at most `dense_up_to` float elements in all (inputs and
    params): every element by its own central difference, compared with atol + rtol |numeric|.
    Returns True or raises GradcheckError naming `input i` or `params[i]`, the gradient's element
    in the layer's own names (`dW[7, 9]`, also `.gradient`) and the raw derivative d out[j] / d W[7, 9]
    both ways.
    """
    __tracebackhide__ = True
    who = f"check_layer: {name or type(layer).__name__}"
    forward = layer.f if isinstance(layer, _Pair) else layer.forward
    c = _Checked(layer, inputs, who, forward)
    dflt_atol, dflt_rtol = tolerances_for(c.dtype)
    if full or sum(a.size for _, a, _ in c.checked) <= dense_up_to:
        _dense(c, seed, eps, dflt_atol if atol is None else atol, dflt_rtol if rtol is None else rtol)
        return True
    subject = _subject(c, eps)
    scr = directional.screen(subject, directions, seed, atol or 0.0, rtol or 0.0)
    if scr.ok:
        return True
    if scr.noisy is not None:
        raise GradcheckError(noisy_text(who, scr.noisy, eps, c.dtype, subject))
    k, where = scr.flag if scr.flag is not None else scr.nonfinite[:2]
    r = scr.rounds[k]
    n = sum(t.size for t in subject.targets)
    at = "" if where == "x" else " at x + h d (next to the point given, where the differences look)"
    if n <= DENSE_REPORT and r.v.size <= _ROWS_LIMIT:  # small: the dense Jacobian names the worst element
        original = subject.point()
        subject.load(r.p1 if where != "x" else original)
        try:
            _dense(c, seed, eps, dflt_atol if atol is None else atol, dflt_rtol if rtol is None else rtol, at)
        finally:
            subject.load(original)
    found = directional.locate(subject, scr, atol or 0.0, rtol or 0.0)
    raise _fast_error(c, found, at)


def _subject(c, eps):
    targets = [
        directional.Target(a, steps(a, eps, c.dtype).reshape(-1), label) for label, a, _ in c.checked
    ]  # the params are the layer's own arrays: perturbed in place, put back after every probe
    for t in targets:
        if not t.array.flags.c_contiguous:
            raise ValueError(f"{c.who}: {t.label} is not C-contiguous: copy it (np.ascontiguousarray) to check it")
    return directional.Subject(
        targets,
        c.outputs_flat,
        lambda v: c.gradients(c.douts(v)),
        np.finfo(c.dtype).eps,
        tolerances_for(c.dtype)[0],
    )


def _var(label, name):
    """How the raw derivative names the array: x1 (input 1) or params[0] as always, W when the layer says so."""
    if name is not None and label.startswith("params"):
        return name
    return label.replace("input ", "x")


def _gradient_name(label, name, el):
    return f"d{name}{idx(el)}" if name is not None else f"the gradient of {label}{idx(el)}"


def _fast_error(c, f, at):
    top = f.probe
    along = (
        f"along a random direction d, <dout, J d> = {top.analytic:.10g} by backward but {top.numeric:.10g} by"
        f" central differences (|diff| {abs(top.E):.3g}, tolerance {top.tau + top.slack:.3g} from the differences'"
        " own error)"
        if top is not None
        else "backward is not finite"
    )
    tol = None if top is None else top.tau + top.slack
    if f.kind == "spread":
        raise GradcheckError(
            f"{c.who}: {along}{at}, but halving the coordinates ({f.probes} probes) did not end at one element"
            " wrong on its own: the error is spread over many elements, each too small to see alone. Pass"
            " atol/rtol to accept errors that small, or full=True to compare every element",
            analytic=top.analytic,
            numeric=top.numeric,
            projected=(top.analytic, top.numeric),
            where=f.where,
            tolerance=tol,
        )
    label, target, name = c.checked[f.target]
    el = tuple(int(j) for j in np.unravel_index(f.index, target.shape))
    oname, out_index = out_name(c.outs, f.output)
    gname = _gradient_name(label, name, el)
    a, n = f.raw_analytic, f.raw_numeric
    msg = (
        f"{c.who}: {label} of shape {target.shape}{at}: {gname} is wrong: d {oname} / d {_var(label, name)}"
        f"{idx(el)} = {a:.8g} by backward but {n:.8g} by central differences (|diff| {abs(a - n):.3g}, {c.dtype})"
        f"\n  found {along}; halving the coordinates ({f.probes} probes) ends at {gname}, which is"
        f" {f.analytic:.10g} by backward and {f.numeric:.10g} by central differences for that dout"
    )
    if f.where != "x":
        msg += "\n  at x itself backward agreed along every direction: it is right at the point given only"
    err = GradcheckError(
        msg,
        element=el,
        analytic=a,
        numeric=n,
        argument=label,
        input_index=int(label.split()[1]) if label.startswith("input") else None,
        output=out_index,
        projected=(f.analytic, f.numeric),
        where=f.where,
        tolerance=tol,
    )
    err.gradient = gname
    return err


def _dense(c, seed, eps, atol, rtol, at=""):
    """Every element by its own central difference (the dense check); raises GradcheckError at the first bad array."""
    __tracebackhide__ = True
    rng = np.random.default_rng(seed)
    douts = [rng.standard_normal(o.shape).astype(o.dtype) for o in c.outs]
    analytic = c.gradients(douts)

    def loss(_):
        ys = c.forward()
        return sum(float((y.astype(np.float64) * d).sum()) for y, d in zip(ys, douts))

    for (label, target, name), g in zip(c.checked, analytic):
        numeric = numeric_jacobian(loss, target, eps, c.dtype)[0].reshape(target.shape)
        j, bad = worst(g, numeric, atol, rtol)
        if not (bad or not np.isfinite(g).all()):
            continue
        head = f"{c.who}: {label} of shape {target.shape}{at}"
        a, n = float(g[j]), float(numeric[j])
        tol = f"{c.dtype}, atol {atol}, rtol {rtol}"
        projected = f"worst element {list(j)}: backward gives {a:.8g} but central differences give {n:.8g}"
        info = dict(element=j, analytic=a, numeric=n, argument=label, projected=(a, n), where="x + h d" if at else "x")
        info["input_index"] = int(label.split()[1]) if label.startswith("input") else None
        raw = _raw_jacobians(c, label, target, eps)
        if raw is None:  # too large for a Jacobian: the projection is all there is
            err = GradcheckError(f"{head}: {projected} for a random dout (|diff| {abs(a - n):.3g}, {tol})", **info)
            err.gradient = _gradient_name(label, name, j)
            raise err
        (r, col), _ = worst(*raw, atol, rtol)
        ra, rn = float(raw[0][r, col]), float(raw[1][r, col])
        el = tuple(int(k) for k in np.unravel_index(col, target.shape))
        oname, out_index = out_name(c.outs, r)
        info.update(element=el, analytic=ra, numeric=rn, output=out_index)
        err = GradcheckError(
            f"{head}: d {oname} / d {label.replace('input ', 'x')}{idx(el)} = {ra:.8g} by backward but"
            f" {rn:.8g} by central differences (|diff| {abs(ra - rn):.3g}, {tol}); {_gradient_name(label, name, el)}"
            f" is wrong; for a random dout, {projected}",
            **info,
        )
        err.gradient = _gradient_name(label, name, el)
        raise err


def _raw_jacobians(c, label, target, eps):
    """(analytic, numeric) Jacobians d outputs / d target, each (n_out, target.size); None when too large.

    The analytic one takes one forward and one backward per output element (a one-hot dout).
    """
    sizes = [o.size for o in c.outs]
    n_out = sum(sizes)
    if n_out > _ROWS_LIMIT or n_out * target.size > _JACOBIAN_LIMIT:
        return None
    numeric = numeric_jacobian(lambda _: c.outputs_flat(), target, eps, c.dtype)
    k = [lb for lb, _, _ in c.checked].index(label)
    rows = []
    for r in range(n_out):
        e = np.zeros(n_out)
        e[r] = 1.0
        rows.append(c.gradients(c.douts(e))[k].ravel())
    return np.stack(rows), numeric


class _Pair:
    """A forward/backward function pair as a layer without parameters."""

    params, grads = [], []

    def __init__(self, forward, backward, cached):
        self.f, self.b, self.cached = forward, backward, cached

    def forward(self, *xs):
        if not self.cached:
            self.xs = xs
            return self.f(*xs)
        r = self.f(*xs)
        if not isinstance(r, tuple) or len(r) != 2:
            raise TypeError("check_vjp: forward must return (out, cache); pass cache=False for forward(*xs) -> out")
        self.cache = r[1]
        return r[0]

    def backward(self, *douts):
        return self.b(*douts, self.cache) if self.cached else self.b(*douts, *self.xs)


def check_vjp(
    forward, backward, *inputs, cache=True, seed=0, eps=None, atol=None, rtol=None, full=False, dense_up_to=DENSE_UP_TO
):
    """Check a CS231n-style pair: forward(*xs) -> (out, cache), backward(dout, cache) -> dxs.

    With cache=False: forward(*xs) -> out and backward(dout, *xs) -> dxs. Returns True or raises
    GradcheckError naming the input and the element (`dx[1, 2]`, forward's own argument names).
    """
    __tracebackhide__ = True
    name = getattr(forward, "__name__", "forward")
    pair = _Pair(forward, backward, cache)
    return check_layer(
        pair, *inputs, seed=seed, eps=eps, atol=atol, rtol=rtol, name=name, full=full, dense_up_to=dense_up_to
    )
