"""Check hand-written layers (the book's protocol) and forward/backward function pairs (CS231n style).

A layer in the style of "Deep Learning from Scratch 2" has `params` and `grads` (lists of arrays
of the same shapes), `forward(*xs)` and `backward(*douts)` returning the input gradients, with
the parameter gradients written into `grads`. `check_layer` compares all of them with central
differences of `forward` for one random upstream gradient per output.
"""

from __future__ import annotations

import numpy as np

from .gradcheck import GradcheckError, _idx, _out_name
from .numeric import numeric_jacobian, tolerances_for, worst

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


def check_layer(layer, *inputs, seed=0, eps=None, atol=None, rtol=None, name=None):
    """Check a book-style layer's backward (input gradients and `grads`) against central differences.

    inputs: arrays for `forward` (integer arrays are constants, e.g. token ids). The step and the
    tolerances follow the dtype of what forward returns. Returns True or raises GradcheckError
    naming `input i` or `params[i]` and, where the Jacobian is small enough to compute, the raw
    derivative d out[j] / d params[i][k] at its worst entry (else the projection on the random dout).
    """
    __tracebackhide__ = True
    who = f"check_layer: {name or type(layer).__name__}"
    params, grads = list(getattr(layer, "params", [])), list(getattr(layer, "grads", []))
    if len(params) != len(grads):
        raise ValueError(f"{who}: {len(params)} params but {len(grads)} grads")
    for i, (p, g) in enumerate(zip(params, grads)):
        if np.shape(p) != np.shape(g):
            raise ValueError(f"{who}: params[{i}] has shape {np.shape(p)} but grads[{i}] has shape {np.shape(g)}")
    xs = [np.array(x) for x in inputs]
    outs = _outputs(layer.forward(*[x.copy() for x in xs]), who)
    dtype = _lowest_precision(outs)
    dflt_atol, dflt_rtol = tolerances_for(dtype)
    atol = dflt_atol if atol is None else atol
    rtol = dflt_rtol if rtol is None else rtol
    rng = np.random.default_rng(seed)
    douts = [rng.standard_normal(o.shape).astype(o.dtype) for o in outs]
    for g in grads:
        g[...] = 0  # a layer that adds into grads must start from zero
    dx = _input_grads(layer.backward(*[d.copy() for d in douts]), xs, who)
    analytic = [(f"input {i}", xs[i], g) for i, g in dx.items()]
    analytic += [(f"params[{i}]", p, np.array(g, dtype=np.float64)) for i, (p, g) in enumerate(zip(params, grads))]

    def loss(_):
        ys = _outputs(layer.forward(*[x.copy() for x in xs]), who)
        return sum(float((y.astype(np.float64) * d).sum()) for y, d in zip(ys, douts))

    for label, target, g in analytic:
        numeric = numeric_jacobian(loss, target, eps, dtype)[0].reshape(target.shape)
        j, bad = worst(g, numeric, atol, rtol)
        if bad or not np.isfinite(g).all():
            head = f"{who}: {label} of shape {target.shape}"
            a, n = float(g[j]), float(numeric[j])
            tol = f"{dtype}, atol {atol}, rtol {rtol}"
            projected = f"worst element {list(j)}: backward gives {a:.8g} but central differences give {n:.8g}"
            info = dict(element=j, analytic=a, numeric=n, argument=label, projected=(a, n))
            info["input_index"] = int(label.split()[1]) if label.startswith("input") else None
            raw = _raw_jacobians(layer, xs, grads, outs, label, target, eps, dtype, who)
            if raw is None:  # too large for a Jacobian: the projection is all there is
                msg = f"{head}: {projected} for a random dout (|diff| {abs(a - n):.3g}, {tol})"
                raise GradcheckError(msg, **info)
            (r, c), _ = worst(*raw, atol, rtol)
            ra, rn = float(raw[0][r, c]), float(raw[1][r, c])
            el = tuple(int(k) for k in np.unravel_index(c, target.shape))
            out_name, out_index = _out_name(outs, r)
            info.update(element=el, analytic=ra, numeric=rn, output=out_index)
            raise GradcheckError(
                f"{head}: d {out_name} / d {label.replace('input ', 'x')}{_idx(el)} = {ra:.8g} by backward but"
                f" {rn:.8g} by central differences (|diff| {abs(ra - rn):.3g}, {tol}); for a random dout, {projected}",
                **info,
            )
    return True


def _raw_jacobians(layer, xs, grads, outs, label, target, eps, dtype, who):
    """(analytic, numeric) Jacobians d outputs / d target, each (n_out, target.size); None when too large.

    The analytic one takes one forward and one backward per output element (a one-hot dout).
    """
    sizes = [o.size for o in outs]
    n_out = sum(sizes)
    if n_out > _ROWS_LIMIT or n_out * target.size > _JACOBIAN_LIMIT:
        return None

    def flat(_):
        ys = _outputs(layer.forward(*[x.copy() for x in xs]), who)
        return np.concatenate([y.astype(np.float64).ravel() for y in ys])

    numeric = numeric_jacobian(flat, target, eps, dtype)
    k = int(label.split()[1].strip("[]")) if label.startswith("input") else int(label[len("params[") : -1])
    rows = []
    for r in range(n_out):
        e = np.zeros(n_out)
        e[r] = 1.0
        douts = [a.reshape(o.shape).astype(o.dtype) for a, o in zip(np.split(e, np.cumsum(sizes)[:-1]), outs)]
        layer.forward(*[x.copy() for x in xs])  # the cache of this forward is what backward reads
        for g in grads:
            g[...] = 0
        dx = _input_grads(layer.backward(*douts), xs, who)
        row = dx[k] if label.startswith("input") else grads[k]
        rows.append(np.array(row, dtype=np.float64).ravel())  # a copy: grads are written in place
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


def check_vjp(forward, backward, *inputs, cache=True, seed=0, eps=None, atol=None, rtol=None):
    """Check a CS231n-style pair: forward(*xs) -> (out, cache), backward(dout, cache) -> dxs.

    With cache=False: forward(*xs) -> out and backward(dout, *xs) -> dxs. Returns True or raises
    GradcheckError naming the input and the worst element.
    """
    __tracebackhide__ = True
    name = getattr(forward, "__name__", "forward")
    return check_layer(_Pair(forward, backward, cache), *inputs, seed=seed, eps=eps, atol=atol, rtol=rtol, name=name)
