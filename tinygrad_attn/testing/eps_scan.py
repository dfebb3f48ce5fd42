"""How the central-difference error depends on the step: truncation (~h^2) against round-off (~eps/h)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..autograd import enable_grad, no_grad
from ..tensor import Tensor
from .gradcheck import _flatten_outputs
from .numeric import step_for


@dataclass
class EpsScan:
    """Relative error of a directional central difference at each step; `auto_step` is what gradcheck uses."""

    steps: np.ndarray  # (S,)
    errors: np.ndarray  # (S,) |numeric - analytic| / |analytic|
    dtype: np.dtype
    auto_step: float
    analytic: float

    @property
    def best_step(self) -> float:
        """The step with the smallest error."""
        return float(self.steps[int(np.nanargmin(self.errors))])


def _leaves(inputs, dtype):
    out = []
    for x in inputs:
        a = np.asarray(x.data if isinstance(x, Tensor) else x)
        out.append(Tensor(a.astype(dtype), requires_grad=True) if a.dtype.kind == "f" else Tensor(a))
    return out


def eps_scan(fn, *inputs, steps=None, dtype=None, seed=0) -> EpsScan:
    """Error of the central difference of <u, fn(x)> along a random unit direction, for each step size.

    dtype: what fn is evaluated in (default: the first float input's dtype); the reference
    derivative comes from backward in float64. steps: default 1e-12 .. 1e-1 (45 points).
    """
    floats = [np.asarray(x.data if isinstance(x, Tensor) else x) for x in inputs]
    floats = [a for a in floats if a.dtype.kind == "f"]
    if not floats:
        raise TypeError("eps_scan: no floating-point input to differentiate")
    dtype = np.dtype(dtype if dtype is not None else floats[0].dtype)
    steps = np.logspace(-12, -1, 45) if steps is None else np.asarray(steps, dtype=np.float64)
    if steps.ndim != 1 or not (steps > 0).all():
        raise ValueError(f"eps_scan: steps must be a 1-d array of positive numbers, got {steps!r}")
    rng = np.random.default_rng(seed)
    xs64 = _leaves(inputs, np.float64)
    with no_grad():
        ys = _flatten_outputs(fn(*xs64), "eps_scan")
    us = [rng.standard_normal(y.shape) for y in ys]
    vs = [rng.standard_normal(x.shape) if x.requires_grad else None for x in xs64]
    norm = np.sqrt(sum(float((v**2).sum()) for v in vs if v is not None))
    vs = [v / norm if v is not None else None for v in vs]
    with enable_grad():
        total = sum(((y * u).sum() for y, u in zip(_flatten_outputs(fn(*xs64), "eps_scan"), us)), Tensor(0.0))
    total.backward()
    analytic = sum(float((x.grad.data * v).sum()) for x, v in zip(xs64, vs) if v is not None and x.grad is not None)

    def proj(h):
        xs = [Tensor((x.data + h * v).astype(dtype)) if v is not None else x for x, v in zip(xs64, vs)]
        with no_grad():
            outs = _flatten_outputs(fn(*xs), "eps_scan")
        return sum(float((y.data.astype(np.float64) * u).sum()) for y, u in zip(outs, us))

    numeric = np.array([(proj(h) - proj(-h)) / (2 * h) for h in steps])
    errors = np.abs(numeric - analytic) / max(abs(analytic), np.finfo(np.float64).tiny)
    return EpsScan(steps, errors, dtype, step_for(dtype), analytic)
