"""One perceptual colour scale (viridis, reversed: big gradients dark, vanishing ones pale)."""

from __future__ import annotations

import math

# viridis sampled at 0, 0.1, ..., 1 (dark purple -> yellow); interpolated linearly in RGB
_VIRIDIS = (
    "#440154", "#482475", "#414487", "#355f8d", "#2a788e", "#21918c",
    "#22a884", "#44bf70", "#7ad151", "#bddf26", "#fde725",
)  # fmt: skip

PLAIN_FILL = "#ffffff"  # no gradient reached the node (or it never required one)
ZERO_FILL = "#d9d9d9"  # a gradient arrived and it is exactly zero
BAD_FILL = "#ff3ea5"  # NaN or Inf: a colour the scale never uses
OP_FILL = "#f2f2f2"
HIGHLIGHT = "#ff7f0e"  # the node being processed (frames)
FAIL = "#e00000"  # gradcheck: the disagreeing node


def _rgb(hex_colour):
    return tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))


def viridis(u: float) -> str:
    """Colour at position u in [0, 1] of viridis as '#rrggbb' (0 dark purple, 1 yellow)."""
    u = min(1.0, max(0.0, u)) * (len(_VIRIDIS) - 1)
    i = min(int(u), len(_VIRIDIS) - 2)
    f = u - i
    a, b = _rgb(_VIRIDIS[i]), _rgb(_VIRIDIS[i + 1])
    return "#" + "".join(f"{round(x + (y - x) * f):02x}" for x, y in zip(a, b))


def grad_colour(log_norm: float, lo: float, hi: float) -> str:
    """Fill for log10 ||grad|| on the scale [lo, hi]: hi is dark purple, lo pale yellow."""
    u = 0.5 if hi <= lo else (log_norm - lo) / (hi - lo)
    return viridis(1.0 - u)


def text_colour(fill: str) -> str:
    """Black or white, whichever reads better on `fill` (relative luminance)."""
    r, g, b = (c / 255 for c in _rgb(fill))
    return "#000000" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45 else "#ffffff"


def nice_scale(log_norms) -> tuple[float, float]:
    """(lo, hi) in log10 units covering the values, widened to at least one decade."""
    vals = [v for v in log_norms if math.isfinite(v)]
    if not vals:
        return (-1.0, 0.0)
    lo, hi = min(vals), max(vals)
    if hi - lo < 1.0:
        mid = (hi + lo) / 2
        lo, hi = mid - 0.5, mid + 0.5
    return (lo, hi)
