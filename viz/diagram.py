"""Block diagrams laid out by hand, as a book draws them, filled by the gradient each node received.

The caller places every node on a grid (x to the right, y up, in grid units) and names what
flows along each edge; `draw` renders it with matplotlib (real SVG text, a colour bar for
log10 ||grad|| on the shared viridis scale of `viz.draw`: large gradients dark, vanishing ones pale).

    nodes = [Node("mm", 1, 0, "MatMul", value=-0.3), Node("x", 1, -1, "x_t", kind="leaf", value=0.1)]
    edges = [Edge("x", "mm")]
    diagram.draw(nodes, edges, "step.svg", scale=(-2, 1))
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import colors, figure

KINDS = ("box", "circle", "leaf", "plain", "block")
SIDES = {"l": (-1, 0), "r": (1, 0), "t": (0, 1), "b": (0, -1)}


@dataclass
class Node:
    """A node at grid point (x, y): `text` inside, filled by `value` = log10 ||grad|| (None: white).

    kind: "box" (an op), "circle" (+, x: a small op), "leaf" (a named input or weight),
    "plain" (text only, no border: a state entering or leaving the picture), "block" (a layer).
    w, h: size in grid units (defaults by kind); fontsize in pt (None: the diagram's).
    """

    key: str
    x: float
    y: float
    text: str
    value: float | None = None
    kind: str = "box"
    w: float | None = None
    h: float | None = None
    fontsize: float | None = None

    def size(self):
        dw, dh = {"circle": (0.42, 0.42), "leaf": (0.8, 0.48), "plain": (0.5, 0.3), "block": (1.1, 0.55)}.get(
            self.kind, (0.9, 0.42)
        )
        return (self.w or dw, self.h or dh)


@dataclass
class Edge:
    """An arrow from node `src` to node `dst`, optionally through grid points `via`.

    sides: where it leaves and enters ("l", "r", "t", "b"; None: facing the other end), or src_xy /
    dst_xy: a point relative to the node's centre.
    label: what flows (drawn beside the longest segment, `label_at` "above"/"below"/"left"/"right").
    """

    src: str
    dst: str
    label: str | None = None
    via: list = field(default_factory=list)
    src_side: str | None = None
    dst_side: str | None = None
    label_at: str | None = None
    style: str = "-"
    color: str = "#444444"
    src_xy: tuple | None = None  # where it leaves, relative to the src node's centre (overrides src_side)
    dst_xy: tuple | None = None  # where it arrives, relative to the dst node's centre (overrides dst_side)


@dataclass
class Frame:
    """A dashed rounded rectangle around a group of nodes (a time step), its label at the top left."""

    x0: float
    y0: float
    x1: float
    y1: float
    label: str = ""
    label_at: str = "bottom"  # or "top"


def _side(node: Node, toward) -> str:
    dx, dy = toward[0] - node.x, toward[1] - node.y
    if abs(dx) * 0.8 >= abs(dy):
        return "r" if dx > 0 else "l"
    return "t" if dy > 0 else "b"


def _port(node: Node, side: str):
    w, h = node.size()
    sx, sy = SIDES[side]
    if node.kind == "circle":
        r = max(w, h) / 2
        return (node.x + sx * r, node.y + sy * r)
    return (node.x + sx * w / 2, node.y + sy * h / 2)


def _fill(value, scale):
    if value is None:
        return colors.PLAIN_FILL
    if not math.isfinite(value):
        return colors.BAD_FILL
    return colors.grad_colour(value, *scale)


def _extent(nodes, edges, frames, unit, fontsize):
    xs, ys = [], []
    for n in nodes:
        w, h = n.size()
        if n.kind == "plain":
            w = max(w, max(_text_width(line, n.fontsize or fontsize) for line in n.text.split("\n")) / unit)
        xs += [n.x - w / 2, n.x + w / 2]
        ys += [n.y - h / 2, n.y + h / 2]
    for e in edges:
        for p in e.via:
            xs.append(p[0])
            ys.append(p[1])
    for f in frames:
        xs += [f.x0, f.x1]
        ys += [f.y0, f.y1 + (1.6 * fontsize / 72 / unit if f.label and f.label_at == "top" else 0)]
    return min(xs), max(xs), min(ys), max(ys)


def draw(
    nodes,
    edges,
    path=None,
    *,
    scale=(-1.0, 0.0),
    frames=(),
    title=None,
    colorbar_label="log10 ||dL/d·||",
    unit=0.75,
    fontsize=11.0,
    label_size=None,
    margin=0.35,
    colorbar="right",
):
    """Draw the diagram; write it to `path` (format from the suffix) if given. Returns the matplotlib Figure.

    scale: (lo, hi) of the colour bar in log10 units; unit: inches per grid unit; fontsize: pt of
    node text, label_size: pt of edge labels (default fontsize); colorbar: "right", "bottom" or None;
    title: a string or a list of lines.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import LinearSegmentedColormap, Normalize
    from matplotlib.figure import Figure

    by_key = {n.key: n for n in nodes}
    if len(by_key) != len(nodes):
        raise ValueError("diagram.draw: two nodes share a key")
    for e in edges:
        for k in (e.src, e.dst):
            if k not in by_key:
                raise ValueError(f"diagram.draw: edge {e.src} -> {e.dst} names no node {k!r}")
    x0, x1, y0, y1 = _extent(nodes, edges, frames, unit, fontsize)
    x0, x1, y0, y1 = x0 - margin, x1 + margin, y0 - margin, y1 + margin
    if colorbar not in ("right", "bottom", None):
        raise ValueError(f"diagram.draw: colorbar must be 'right', 'bottom' or None, got {colorbar!r}")
    label_size = label_size or fontsize
    lines = [title] if isinstance(title, str) else list(title or [])
    line_h = 1.6 * (fontsize + 1) / 72
    head = 0.15 + line_h * len(lines) if lines else 0.0  # inches
    right = 0.9 + 1.6 * label_size / 72 if colorbar == "right" else 0.0
    bottom = 0.55 + 2 * label_size / 72 if colorbar == "bottom" else 0.0
    content = (x1 - x0) * unit
    text_w = max((_text_width(line, fontsize + 1) for line in lines), default=0.0) + 0.3
    W, H = max(content + right, text_w), (y1 - y0) * unit + head + bottom
    fig = Figure(figsize=(W, H), dpi=100)
    FigureCanvasAgg(fig)
    left = (W - right - content) / 2
    ax = fig.add_axes((left / W, bottom / H, content / W, (H - head - bottom) / H))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.axis("off")
    for f in frames:
        _frame(ax, f, label_size)
    for e in edges:
        _edge(ax, e, by_key, label_size)
    for n in nodes:
        _node(ax, n, scale, fontsize)
    for i, line in enumerate(lines):  # one text per line: a formula line may use mathtext, a Korean line not
        fig.text(0.5, 1 - (0.1 + line_h * (i + 0.5)) / H, line, ha="center", va="center", fontsize=fontsize + 1)
    if colorbar:
        from matplotlib.cm import ScalarMappable

        cmap = LinearSegmentedColormap.from_list("grad", [colors.grad_colour(v, 0, 1) for v in np.linspace(0, 1, 11)])
        if colorbar == "right":
            cax = fig.add_axes(((W - right + 0.25) / W, 0.12, 0.16 / W, 0.76 - head / H))
        else:
            cw = min(4.5, 0.6 * W)
            cax = fig.add_axes(((W - cw) / 2 / W, (bottom - 0.22) / H, cw / W, 0.16 / H))
        cb = fig.colorbar(
            ScalarMappable(Normalize(*scale), cmap),
            cax=cax,
            orientation="vertical" if colorbar == "right" else "horizontal",
        )
        cb.set_label(colorbar_label, fontsize=label_size)
        cb.ax.tick_params(labelsize=label_size)
        norm_ticks(cb, scale)
    if path is not None:
        figure.save(fig, path)
    return fig


def _text_width(text, size):
    """Estimated width in inches of a line of text in DejaVu Sans at `size` pt (mathtext markup not counted)."""
    import re

    plain = re.sub(r"\\[a-zA-Z]+|[\$^_{}]", "", text)
    wide = sum(1 for ch in plain if ord(ch) > 0x2E80)  # CJK glyphs are about twice as wide
    return (0.6 * (len(plain) - wide) + 1.0 * wide) * size / 72


def norm_ticks(cb, scale):
    """Label a colour bar in log10 units with the norms themselves at 1, 2, 5 x 10^k (fewer when crowded)."""
    from matplotlib.ticker import FixedLocator, FuncFormatter

    lo, hi = scale
    for mults in ((1, 2, 5), (1, 3), (1,)):
        ticks = [math.log10(m) + k for k in range(math.floor(lo) - 1, math.ceil(hi) + 1) for m in mults]
        ticks = [v for v in ticks if lo - 1e-9 <= v <= hi + 1e-9]
        if len(ticks) <= 7:
            break
    if len(ticks) > 7:
        step = math.ceil(len(ticks) / 6)
        ticks = ticks[::step]
    if len(ticks) < 2:
        return
    cb.ax.xaxis.set_major_locator(FixedLocator(ticks)) if cb.orientation == "horizontal" else None
    cb.ax.yaxis.set_major_locator(FixedLocator(ticks)) if cb.orientation == "vertical" else None
    fmt = FuncFormatter(
        lambda v, _: f"{10**v:.3g}" if -3 <= v < 4 else f"1e{round(v)}" if abs(v - round(v)) < 1e-9 else f"{10**v:.0e}"
    )
    (cb.ax.xaxis if cb.orientation == "horizontal" else cb.ax.yaxis).set_major_formatter(fmt)
    cb.ax.minorticks_off()


def _frame(ax, f: Frame, size):
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(
        FancyBboxPatch(
            (f.x0, f.y0), f.x1 - f.x0, f.y1 - f.y0, boxstyle="round,pad=0,rounding_size=0.15",
            fc="none", ec="#aaaaaa", lw=1.0, ls=(0, (4, 3)),
        )
    )  # fmt: skip
    if f.label:
        top = f.label_at == "top"
        y, va = (f.y1 + 0.06, "bottom") if top else (f.y0 + 0.1, "bottom")  # "top": just above the frame
        ax.text(f.x0 + 0.15, y, f.label, ha="left", va=va, fontsize=size, color="#555555")


def _node(ax, n: Node, scale, size):
    from matplotlib.patches import Circle, FancyBboxPatch

    w, h = n.size()
    fill = _fill(n.value, scale)
    fs = n.fontsize or size
    if n.kind == "plain":
        ax.text(n.x, n.y, n.text, ha="center", va="center", fontsize=fs)
        return
    if n.kind == "circle":
        ax.add_patch(Circle((n.x, n.y), max(w, h) / 2, fc=fill, ec="#333333", lw=1.0, zorder=3))
    else:
        rounding = 0.08 if n.kind != "block" else 0.05
        ax.add_patch(
            FancyBboxPatch(
                (n.x - w / 2, n.y - h / 2), w, h, boxstyle=f"round,pad=0,rounding_size={rounding}", fc=fill,
                ec="#333333" if n.kind != "leaf" else "#777777", lw=1.0 if n.kind != "block" else 1.4, zorder=3,
            )
        )  # fmt: skip
    colour = colors.text_colour(fill)
    ax.text(n.x, n.y, n.text, ha="center", va="center", fontsize=fs, color=colour, zorder=4)


def _edge(ax, e: Edge, by_key, size):
    from matplotlib.patches import FancyArrowPatch

    a, b = by_key[e.src], by_key[e.dst]
    first = e.via[0] if e.via else (b.x, b.y)
    last = e.via[-1] if e.via else (a.x, a.y)
    p0 = (a.x + e.src_xy[0], a.y + e.src_xy[1]) if e.src_xy else _port(a, e.src_side or _side(a, first))
    p1 = (b.x + e.dst_xy[0], b.y + e.dst_xy[1]) if e.dst_xy else _port(b, e.dst_side or _side(b, last))
    pts = [p0, *[tuple(p) for p in e.via], p1]
    for p, q in zip(pts[:-2], pts[1:-1]):
        ax.plot([p[0], q[0]], [p[1], q[1]], color=e.color, lw=1.2, ls=e.style, zorder=2, solid_capstyle="butt")
    ax.add_patch(
        FancyArrowPatch(
            pts[-2], pts[-1], arrowstyle="-|>", mutation_scale=12, color=e.color, lw=1.2, ls=e.style,
            shrinkA=0, shrinkB=1, zorder=2,
        )
    )  # fmt: skip
    if e.label:
        _edge_label(ax, e, pts, size)


def _edge_label(ax, e: Edge, pts, size):
    segs = list(zip(pts[:-1], pts[1:]))
    p, q = max(segs, key=lambda s: math.dist(*s))
    mx, my = (p[0] + q[0]) / 2, (p[1] + q[1]) / 2
    horizontal = abs(q[0] - p[0]) >= abs(q[1] - p[1])
    at = e.label_at or ("above" if horizontal else "right")
    off = 0.07
    dx, dy, ha, va = {
        "above": (0, off, "center", "bottom"),
        "below": (0, -off, "center", "top"),
        "left": (-off, 0, "right", "center"),
        "right": (off, 0, "left", "center"),
    }[at]
    ax.text(mx + dx, my + dy, e.label, ha=ha, va=va, fontsize=size, color="#222222", zorder=5)
