"""viz: draw the computation graph with the gradient that reached every node, and plot gradient flow.

`viz.draw(rec)` of a `ta.record_backward()` record (or `viz.draw(loss, backward=True)`) returns a
`Graph` (`.source` DOT, `.render("g.svg")`, shown inline in Jupyter); its numbers come from the
record. `viz.frames(rec, folder)` writes a step-through of the backward pass in the engine's order.
`viz.explore(loss)` is that step-through as one page; `viz.explore_attention(model, src, tgt)` puts
a seq2seq model's attention weights beside the gradient that reached them.
`viz.plots` holds the matplotlib figures (imported on first use).
"""

from .attention_page import AttentionPage, explore_attention
from .explore import Explorer, explore
from .frames import frames
from .graph import Graph, draw, draw_gradcheck_failure
from .render import RenderError

__all__ = [
    "AttentionPage",
    "Explorer",
    "Graph",
    "RenderError",
    "draw",
    "draw_gradcheck_failure",
    "explore",
    "explore_attention",
    "frames",
    "plots",
]


def __getattr__(name):
    if name == "plots":  # matplotlib only when a plot is asked for
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'viz' has no attribute {name!r}")
