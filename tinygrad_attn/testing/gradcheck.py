"""Gradient checks against central differences in float64 (public: test your own ops)."""

from __future__ import annotations

import numpy as np

from ..autograd import enable_grad, no_grad
from ..tensor import Tensor


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with the numeric one; the message says where."""

    def __init__(self, message, *, input_index=None, element=None, analytic=None, numeric=None):
        super().__init__(message)
        self.input_index = input_index
        self.element = element
        self.analytic = analytic
        self.numeric = numeric


def _as_inputs(inputs):
    """Fresh float64 leaves that require grad (integer inputs stay constant)."""
    out = []
    for x in inputs:
        arr = np.asarray(x.data if isinstance(x, Tensor) else x)
        if arr.dtype.kind == "f":
            out.append(Tensor(arr.astype(np.float64), requires_grad=True, name=getattr(x, "name", None)))
        else:
            out.append(Tensor(arr))
    return out


def _flatten_outputs(y):
    ys = y if isinstance(y, (tuple, list)) else (y,)
    for t in ys:
        if not isinstance(t, Tensor):
            raise TypeError(f"gradcheck: fn must return a Tensor or a tuple of Tensors, got {type(t).__name__}")
    return ys


def _project(fn, xs, us):
    """<u, fn(xs)> as a Tensor (sum over every output)."""
    ys = _flatten_outputs(fn(*xs))
    total = None
    for y, u in zip(ys, us):
        term = (y * u).sum()
        total = term if total is None else total + term
    return total


def _numeric_grad(fn, xs, us, i, eps):
    x = xs[i].data
    g = np.zeros_like(x)
    with no_grad():
        for j in np.ndindex(x.shape):
            old = x[j]
            x[j] = old + eps
            fp = _project(fn, xs, us).item()
            x[j] = old - eps
            fm = _project(fn, xs, us).item()
            x[j] = old
            g[j] = (fp - fm) / (2 * eps)
    return g


def gradcheck(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-4, seed=0, render_on_failure=None):
    """Compare backward of `fn(*inputs)` with central differences; raise GradcheckError or return True.

    Non-scalar outputs are reduced with a fixed random projection <u, fn(x)>.
    """
    xs = _as_inputs(inputs)
    rng = np.random.default_rng(seed)
    with no_grad():
        ys = _flatten_outputs(fn(*xs))
    us = [rng.standard_normal(y.shape) for y in ys]
    with enable_grad():
        loss = _project(fn, xs, us)
    if not loss.requires_grad:
        raise GradcheckError("gradcheck: fn's output does not depend on any input that requires grad")
    loss.backward(retain_grad=render_on_failure is not None)
    for i, x in enumerate(xs):
        if not x.requires_grad:
            continue
        analytic = x.grad.data if x.grad is not None else np.zeros_like(x.data)
        numeric = _numeric_grad(fn, xs, us, i, eps)
        err = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if analytic.shape != numeric.shape or (err > 0).any() or not np.isfinite(analytic).all():
            j = np.unravel_index(np.nanargmax(np.where(np.isfinite(err), err, np.inf)), err.shape) if err.size else ()
            a, n = float(analytic[j]), float(numeric[j])
            name = f" ({x.name})" if x.name else ""
            msg = (
                f"gradcheck: input {i}{name} of shape {x.shape}: worst element {tuple(int(k) for k in j)}: "
                f"analytic {a:.8g} vs numeric {n:.8g} (|diff| {abs(a - n):.3g}, atol {atol}, rtol {rtol})"
            )
            if render_on_failure is not None:
                msg += _render_failure(loss, x, j, a, n, render_on_failure)
            raise GradcheckError(msg, input_index=i, element=j, analytic=a, numeric=n)
    return True


def _render_failure(loss, x, element, analytic, numeric, path):
    try:
        import viz
    except ImportError:  # pragma: no cover - viz ships with the package
        return ""
    viz.draw_gradcheck_failure(loss, x, element, analytic, numeric).render(path)
    return f"\n  graph with the disagreeing input outlined: {path}"


def vjp_check(fn, *inputs, order=2, eps=1e-6, atol=1e-5, rtol=1e-4, seed=0):
    """Check <u, J v> (numeric, directional difference) against <J^T u, v> (backward).

    With order=2 the same identity is checked again on x -> J(x)^T u, built with
    create_graph=True, so second derivatives are checked too. Returns True or raises.
    """
    if order < 1:
        raise ValueError(f"vjp_check: order must be >= 1, got {order}")
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
        raise GradcheckError(
            f"vjp_check (order {order}): <J^T u, v> = {analytic:.8g} but numeric <u, J v> = {numeric:.8g}",
            analytic=analytic,
            numeric=numeric,
        )
    if order > 1:
        diff_idx = [i for i, v in enumerate(vs) if v is not None]
        vjp_check(_GradOf(fn, us, diff_idx), *xs, order=order - 1, eps=eps, atol=atol, rtol=rtol, seed=seed + 1)
    return True


class _GradOf:
    """x -> dL/dx with L = <u, fn(x)>, built with create_graph so it can be differentiated."""

    def __init__(self, fn, us, diff_idx):
        self.fn, self.us, self.diff_idx = fn, us, diff_idx

    def __call__(self, *args):
        with enable_grad():
            total = _project(self.fn, args, self.us)
            if not total.requires_grad:
                return tuple(Tensor(np.zeros(args[i].shape)) for i in self.diff_idx)
            leaves = [a for a in args if a.requires_grad]
            _zero(leaves)
            total.backward(create_graph=True)
            grads = tuple(
                args[i].grad if args[i].grad is not None else Tensor(np.zeros(args[i].shape)) for i in self.diff_idx
            )
            _zero(leaves)
            return grads


def _zero(ts):
    for t in ts:
        t.grad = None
