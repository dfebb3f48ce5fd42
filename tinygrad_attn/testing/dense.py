"""The dense check (`gradcheck(..., full=True)`): every input element by its own central difference.

Non-scalar outputs are reduced with a fixed random projection <u, fn(x)>: one backward, then two
forwards per input element. When the projected gradients disagree, the raw Jacobians of the
failing input (one backward per output, two forwards per element) give the worst raw derivative
d out[r] / d x[c]; past `JACOBIAN_LIMIT` entries the projection is all the report has.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import enable_grad
from .calls import idx, out_name, outputs_flat, project, split_cotangent
from .numeric import numeric_jacobian, worst

JACOBIAN_LIMIT = 200_000  # numeric Jacobian entries kept for a raw report
ROWS_LIMIT = 400  # outputs: one backward each for the raw analytic Jacobian


@dataclass
class DenseFailure:
    """The failing input `i`, the message's text (without the head) and the error's fields."""

    i: int
    text: str
    info: dict


def dense_check(fn, xs, ys, us, eps, atol, rtol):
    """None when every element agrees within atol + rtol |numeric|, else the DenseFailure of the first bad input.

    xs: the leaves (their `.grad` is overwritten); ys: fn's outputs at xs; us: one projection array per output.
    """
    for x in xs:
        x.grad = None
    with enable_grad():
        loss = project(fn, xs, us)
    if loss.requires_grad:
        loss.backward()
    # read every gradient now: evaluating fn again may reset them (vjp_check's order 2 runs a backward inside)
    grads = [None if x.grad is None else np.array(x.grad.data, dtype=np.float64) for x in xs]
    u = np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in us])
    for i, x in enumerate(xs):
        if not x.requires_grad:
            continue
        analytic = grads[i] if grads[i] is not None else np.zeros(x.shape)
        full = u.size * x.size <= JACOBIAN_LIMIT
        f = (lambda a: outputs_flat(fn, xs)) if full else (lambda a: u @ outputs_flat(fn, xs))
        jn = numeric_jacobian(f, x.data, eps)
        numeric = (u @ jn if full else jn[0]).reshape(x.shape)
        j, bad = worst(analytic, numeric, atol, rtol)
        if analytic.shape != numeric.shape or bad or not np.isfinite(analytic).all():
            return _failure(fn, xs, ys, i, j, analytic, numeric, jn if full else None, atol, rtol)
    return None


def analytic_jacobian(fn, xs, ys, i):
    """d outputs / d xs[i] by one backward per output element: (n_out, xs[i].size)."""
    rows = []
    n_out = sum(int(np.prod(y.shape, dtype=np.int64)) for y in ys)
    for k in range(n_out):
        e = np.zeros(n_out)
        e[k] = 1.0
        for x in xs:
            x.grad = None
        with enable_grad():
            total = project(fn, xs, split_cotangent(e, ys))
        g = None
        if total.requires_grad:
            total.backward()
            g = xs[i].grad
        rows.append(np.zeros(xs[i].size) if g is None else g.data.astype(np.float64).ravel())
    return np.stack(rows)


def _failure(fn, xs, ys, i, j, analytic, numeric, jn, atol, rtol):
    x = xs[i]
    pa, pn = float(analytic[j]), float(numeric[j])
    info = dict(argument=i, input_index=i, projected=(pa, pn))
    if jn is not None and jn.shape[0] <= ROWS_LIMIT:
        ja = analytic_jacobian(fn, xs, ys, i)
        (r, c), _ = worst(ja, jn, atol, rtol)
        a, n = float(ja[r, c]), float(jn[r, c])
        el = tuple(int(k) for k in np.unravel_index(c, x.shape))
        name, out_index = out_name(ys, r)
        text = (
            f"d {name} / d x{i}{idx(el)} = {a:.8g} by backward but {n:.8g} by central differences"
            f" (|diff| {abs(a - n):.3g}, atol {atol}, rtol {rtol})"
        )
        info.update(element=el, analytic=a, numeric=n, output=out_index)
    else:  # too large for a Jacobian: the projection is all there is
        text = (
            f"worst element {idx(j) or '()'}: projected gradient <u, J e_j> {pa:.8g} by backward"
            f" but {pn:.8g} by central differences (|diff| {abs(pa - pn):.3g}, atol {atol}, rtol {rtol})"
        )
        info.update(element=tuple(int(k) for k in j), analytic=pa, numeric=pn)
    return DenseFailure(i, text, info)
