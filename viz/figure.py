"""matplotlib Figures without pyplot state, and saving them: SVG text stays text, files written atomically."""

from __future__ import annotations

import io
import os

from .render import write_atomic

DPI = 130  # PNG resolution: a 7 inch figure is 910 px wide


def new(w=7.0, h=4.0, ncols=1, nrows=1, **subplots):
    """(Figure, axes) of size w x h inches on an Agg canvas, constrained layout; no axes when ncols = 0."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    if ncols == 0:
        return fig, None
    squeeze = subplots.pop("squeeze", True)
    return fig, fig.subplots(nrows, ncols, squeeze=squeeze, **subplots)


def save(fig, path):
    """Write `fig` to `path`, or to each path of a list (format from each suffix); returns the Figure.

    SVGs keep their text as <text> (svg.fonttype none) and carry no date, so a picture gives the same bytes.
    """
    import matplotlib

    paths = [path] if isinstance(path, str | os.PathLike) else list(path)
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "tinygrad-attn"}):
        for p in paths:
            fmt = os.path.splitext(os.fspath(p))[1].lstrip(".").lower() or "png"
            buf = io.BytesIO()
            fig.savefig(buf, format=fmt, dpi=DPI, metadata={"Date": None} if fmt == "svg" else None)
            write_atomic(p, buf.getvalue())
    return fig
