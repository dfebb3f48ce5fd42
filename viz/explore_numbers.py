"""The explorer's numbers as JSON-able values: arrays summarised, norms that never underflow, colours, rules.

Pure functions of arrays and op classes, used by `viz.explore_data` and `viz.attention_page`.
"""

from __future__ import annotations

import inspect
import math
import textwrap

import numpy as np

from . import colors
from .grads import fmt, is_elementwise


def nums(a, cap=None) -> list:
    """The first `cap` values of `a` (flattened) rounded to 7 significant digits; NaN/Inf as strings for JS."""
    flat = np.asarray(a, dtype=np.float64).reshape(-1)
    if cap is not None:
        flat = flat[:cap]
    if flat.size <= 8:  # few numbers: plain Python is faster than a dozen numpy calls
        return [_json_float(float(f"{x:.7g}")) for x in flat.tolist()]
    finite = np.isfinite(flat)
    with np.errstate(all="ignore"):
        k = 6 - np.floor(np.log10(np.abs(np.where(finite & (flat != 0), flat, 1.0))))
        ok = finite & (np.abs(k) <= 22)  # 10**k is exact: the quotient is the double nearest the decimal
        up = np.where(k >= 0, 10.0 ** np.clip(k, 0, 22), 1.0)
        down = np.where(k < 0, 10.0 ** np.clip(-k, 0, 22), 1.0)
        rounded = np.round(flat * up / down) * down / up
    out = np.where(ok, rounded, flat).tolist()
    if not finite.all():
        out = [_json_float(x) for x in out]
    return out


def _json_float(x: float):
    return x if math.isfinite(x) else ("NaN" if x != x else ("Infinity" if x > 0 else "-Infinity"))


def num(x: float):
    """One number for JSON (7 significant digits; NaN/Inf as strings)."""
    return _json_float(float(f"{float(x):.7g}"))


def summary(a, cap: int) -> dict:
    """{s: shape, n: size, min, max, mean, norm, v: first `cap` values} of an array."""
    a = np.asarray(a)
    flat = a.astype(np.float64, copy=False).reshape(-1)
    out = {"s": list(a.shape), "n": int(flat.size), "v": nums(flat, cap)}
    if flat.size:  # (page_data silences numpy's warnings once for all arrays: errstate costs 30 us a call)
        lo, hi, mean, size = nums([flat.min(), flat.max(), flat.mean(), norm(flat)])
        out.update(min=lo, max=hi, mean=mean, norm=size)
    return out


def norm(a) -> float:
    """||a|| without underflow: scaled by max |a| (a gradient of 1e-170 squares to 0 in float64)."""
    flat = np.asarray(a, dtype=np.float64).reshape(-1)
    if flat.size == 0:
        return 0.0
    square = float(np.add.reduce(flat * flat))
    if 1e-300 < square < math.inf:  # nothing underflowed or overflowed
        return math.sqrt(square)
    top = float(np.max(np.abs(flat)))
    if top == 0.0 or not math.isfinite(top):
        return top
    scaled = flat / top
    return top * math.sqrt(float(np.add.reduce(scaled * scaled)))


def fill_for(a, scale) -> tuple[str, str, float]:
    """(fill, text colour, norm) of a gradient on the colour scale (lo, hi) in log10 units."""
    n = norm(a)
    if math.isnan(n) or math.isinf(n):
        fill = colors.BAD_FILL
    elif n == 0.0:
        fill = colors.ZERO_FILL
    else:
        fill = colors.grad_colour(math.log10(n), *scale)
    return fill, colors.text_colour(fill), n


def grad_text(n: float) -> str:
    if math.isnan(n) or math.isinf(n):
        return "|grad| NaN" if math.isnan(n) else "|grad| Inf"
    return "|grad| = 0" if n == 0.0 else f"|grad| {fmt(n)}"


# ---- the backward rule of an op, as source text ----------------------------------------------
def rule_of(cls) -> dict:
    """{name, doc, src}: the op's docstring and the source of its backward rule."""
    doc = inspect.getdoc(cls) or ""
    parts = []
    fn = cls.__dict__.get("backward")  # the textbook rule (fast array paths live under other names)
    if fn is not None:
        try:
            parts.append(inspect.getsource(fn))
        except (OSError, TypeError):
            parts.append(f"# source of {cls.__name__}.backward is not available (defined interactively?)\n")
    if not parts:
        for base in cls.__mro__[1:]:  # inherited rule: show where it comes from
            if "backward" in base.__dict__:
                parts.append(f"# {cls.__name__} inherits backward from {base.__name__}\n")
                break
    return {"name": cls.__name__, "doc": doc, "src": "\n\n".join(textwrap.dedent(p).strip() for p in parts)}


# ---- the local derivative of one input ------------------------------------------------------
def local(fn, g, c, cap):
    """(kind, local derivative or None, why) of contribution `c` to one input, given the incoming gradient `g`.

    "scalar": one number in, one out, so c / g is the derivative; "elementwise": an elementwise
    op with an input of the output's shape, so c / g is the diagonal of the Jacobian; "reduced":
    elementwise but the input was broadcast (its gradient is summed back to its shape);
    "other": a matrix op, a reduction or a movement. Where g is 0, c / g is 0 / 0: the record
    cannot tell the derivative there, so those elements are left out (null) and counted in
    `zero`; when g is 0 everywhere, the derivative is None and `why` says so.
    """
    g = np.asarray(g, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    elementwise = is_elementwise(fn)
    if g.size == 1 and c.size == 1:
        kind = "scalar"
    elif elementwise and c.shape == g.shape:
        kind = "elementwise"
    else:
        return ("reduced" if elementwise else "other"), None, None
    seen = g != 0
    if not seen.any():
        return (
            kind,
            None,
            "the incoming gradient is 0 at every element: nothing flows back through this op, "
            "and 0 / 0 tells no derivative",
        )
    d = np.where(seen, c / np.where(seen, g, 1.0), 0.0)
    out = summary(d[seen], cap)  # statistics over the elements where the derivative can be read
    flat = d.reshape(-1)[:cap]
    mask = seen.reshape(-1)[:cap]
    out["s"], out["v"] = list(c.shape), [x if m else None for x, m in zip(nums(flat), mask.tolist())]
    out["zero"] = int(g.size - seen.sum())
    return kind, out, None


# ---- a matrix product, written out -------------------------------------------------------------
WINDOW = 12  # rows and columns of a matrix shown (as numbers up to 4 x 4, as a heat map beyond)


def window(m) -> dict:
    """{r, c: the matrix's size, v: its first WINDOW x WINDOW values as rows}."""
    m = np.asarray(m, dtype=np.float64)
    m = m.reshape(1, -1) if m.ndim < 2 else m
    return {"r": int(m.shape[0]), "c": int(m.shape[1]), "v": [nums(row) for row in m[:WINDOW, :WINDOW]]}


def matmul_terms(a, b, g, contributions) -> list:
    """Per input of out = a @ b: the product that gives its gradient, {lhs, rhs, out, batch} or None.

    dL/da = g · bᵀ and dL/db = aᵀ · g. A stack of rows times a matrix ((N, T, H) @ (H, G)) is
    shown as one matrix of N*T rows (the weight's gradient sums over them); two stacks of
    matrices show their first pair (`batch` says which).
    """
    a, b, g = (np.asarray(x, dtype=np.float64) for x in (a, b, g))
    batch = ""
    if a.ndim <= 1 or b.ndim <= 1:
        a2, b2, g2 = a.reshape(1, -1) if a.ndim == 1 else a, b.reshape(-1, 1) if b.ndim == 1 else b, None
        g2 = g.reshape(a2.shape[0] if a.ndim > 1 else 1, -1)
    elif b.ndim == 2:
        a2, b2, g2 = a.reshape(-1, a.shape[-1]), b, g.reshape(-1, g.shape[-1])
    else:
        lead = (0,) * (g.ndim - 2)
        batch = f"the first of the {int(np.prod(g.shape[:-2]))} matrix products (batch {lead})"
        a2 = a[lead[-(a.ndim - 2) :]] if a.ndim > 2 else a
        b2 = b[lead[-(b.ndim - 2) :]] if b.ndim > 2 else b
        g2 = g[lead]
    out = []
    for i, c in enumerate(contributions):
        if c is None:
            out.append(None)
            continue
        lhs, rhs = (g2, b2.T) if i == 0 else (a2.T, g2)
        prod = lhs @ rhs
        out.append({"lhs": window(lhs), "rhs": window(rhs), "out": window(prod), "batch": batch})
    return out
