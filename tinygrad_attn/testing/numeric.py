"""Central differences: the step and tolerance for a dtype, Jacobians, and the worst disagreement.

The central difference (f(x + h) - f(x - h)) / 2h has a truncation error ~ h^2 f'''/6 and a
round-off error ~ eps * |f| / h (eps the machine epsilon); their sum is smallest near
h = eps^(1/3) (Numerical Recipes, 5.7). For float64 that is 6e-6, for float32 5e-3.
"""

from __future__ import annotations

import numpy as np

# (atol, rtol) for comparing an analytic derivative with a central difference at the automatic step
_TOLERANCES = {np.dtype(np.float64): (1e-5, 1e-4), np.dtype(np.float32): (2e-2, 2e-2), np.dtype(np.float16): (0.2, 0.1)}


def _float_dtype(dtype):
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"step_for: dtype {dt} is not a floating-point dtype")
    return dt


def step_for(dtype) -> float:
    """The central-difference step for values of `dtype`: eps^(1/3) (float64 6.1e-6, float32 4.9e-3)."""
    return float(np.cbrt(np.finfo(_float_dtype(dtype)).eps))


def tolerances_for(dtype) -> tuple[float, float]:
    """(atol, rtol) for comparing derivatives computed in `dtype` against central differences."""
    dt = _float_dtype(dtype)
    if dt not in _TOLERANCES:
        raise TypeError(f"tolerances_for: no tolerances for dtype {dt}; use float16, float32 or float64")
    return _TOLERANCES[dt]


def steps(x, eps=None, dtype=None):
    """Per-element steps for array `x`: `eps` if given, else step_for(dtype or x.dtype) * max(1, |x|)."""
    if eps is not None:
        if not eps > 0:
            raise ValueError(f"gradcheck: eps must be > 0, got {eps}")
        return np.full(np.shape(x), float(eps))
    return step_for(dtype if dtype is not None else np.asarray(x).dtype) * np.maximum(
        1.0, np.abs(np.asarray(x, dtype=np.float64))
    )


def numeric_jacobian(f, x, eps=None, dtype=None):
    """J[k, j] = d f(x)_k / d x_j by central differences; f: array -> flat array (n_out,), x perturbed in place.

    Returns (J of shape (n_out, x.size)); x is restored afterwards.
    """
    h = steps(x, eps, dtype)
    cols = []
    for j in np.ndindex(x.shape):
        old = x[j]
        x[j] = old + h[j]
        hp = float(x[j]) - float(old)  # the step actually taken after rounding to x's dtype
        fp = np.asarray(f(x), dtype=np.float64).ravel()
        x[j] = old - h[j]
        hm = float(old) - float(x[j])
        fm = np.asarray(f(x), dtype=np.float64).ravel()
        x[j] = old
        cols.append((fp - fm) / (hp + hm))
    n_out = cols[0].size if cols else 0
    return np.stack(cols, axis=1) if cols else np.zeros((n_out, 0))


def worst(analytic, numeric, atol, rtol):
    """Index of the element where |analytic - numeric| exceeds atol + rtol |numeric| the most (NaN counts as worst)."""
    excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
    excess = np.where(np.isfinite(excess), excess, np.inf)
    if excess.size == 0:
        return None, False
    j = np.unravel_index(int(np.argmax(excess)), excess.shape)
    return tuple(int(k) for k in j), bool(excess[j] > 0)
