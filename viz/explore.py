"""`viz.explore(loss)`: step through a backward pass, with its numbers, in one self-contained HTML page.

    page = viz.explore(loss)        # or viz.explore(rec) for a `ta.record_backward()` record
    page.save("backprop.html")      # open in any browser, offline
    page                            # inline in Jupyter

One way through: the record -> its drawing (`viz.explore_model`: boxes grouped by the calls and
scopes that made them) -> the page data (`viz.explore_data`) -> the page (`viz.explore_page`).
The page exposes `window.tinygradAttn` = {steps, show(k), current()} and keeps the arithmetic of
the current step in the element `#explain`.
"""

from __future__ import annotations

from tinygrad_attn import Tensor
from tinygrad_attn.record import Record, record_backward

from . import explore_model
from .explore_data import page_data
from .explore_page import page
from .html_page import HtmlPage
from .sources import as_source


class Explorer(HtmlPage):
    """The explorer page for one backward record: `html`, `save(path)`, shown inline in Jupyter."""

    frame_title = "backprop explorer"
    frame_height = 680

    def __init__(self, html_text: str, record: Record, drawing, data: dict):
        super().__init__(html_text)
        self.record = record
        self.drawing = drawing
        self.data = data

    @property
    def steps(self) -> list[tuple[str, str]]:
        """(DOM id, op name) of every step, in the engine's processing order (as `window.tinygradAttn.steps`)."""
        return [(s["id"], s["op"]) for s in self.data["steps"]]

    def __repr__(self):
        return f"Explorer({len(self.data['steps'])} steps, {len(self.html) / 1e3:.0f} kB)"


def explore(
    tensor_or_record,
    *,
    title: str | None = None,
    max_nodes: int | None = 400,
    max_values: int = 256,
    constants: bool = True,
    open_calls: bool = False,
) -> Explorer:
    """The explorer page for a scalar `loss` (Tensor with its graph) or a `ta.record_backward()` record.

    Given a tensor, it runs `loss.backward(retain_graph=True)` inside
    `ta.record_backward(accumulate=False)`: exploring changes no `.grad` (hooks on intermediate
    tensors run, as they shape the gradients; leaf hooks do not).
    Given a record, it shows that record (one output; the graph must still be alive).
    Composite calls (F.cross_entropy, modules) start closed; max_nodes: above this many boxes, the
    open scopes start closed too, deepest first (None: never). max_values: at most this many
    numbers of any array go into the page (statistics cover all). constants: draw the leaves that
    need no gradient. open_calls: every call and scope starts open (the whole graph, op by op).
    """
    tensor_or_record = as_source(tensor_or_record, "explore")
    rec, root = _record_and_root(tensor_or_record)
    drawing = explore_model.build(root, constants=constants, max_nodes=max_nodes)
    if title:
        drawing.heading = title
    if open_calls:
        for g in drawing.groups:
            g.open = True
    data = page_data(rec, drawing, max_values=max_values)
    return Explorer(page(data), rec, drawing, data)


def _record_and_root(tensor_or_record):
    if isinstance(tensor_or_record, Record):
        rec = tensor_or_record
        if not rec.steps:
            raise ValueError("explore: the record is empty; run loss.backward() inside ta.record_backward()")
        root = rec.roots[0]
        if any(r is not root for r in rec.roots):
            raise ValueError(f"explore: the record holds backward runs from {len(rec.roots)} outputs; record one")
        return rec, root
    if isinstance(tensor_or_record, Tensor):
        return _record(tensor_or_record), tensor_or_record
    raise TypeError(f"explore: expected a Tensor or a Record, got {type(tensor_or_record).__name__}")


def _record(loss) -> Record:
    """Record one backward from `loss` without changing any `.grad` (`record_backward(accumulate=False)`)."""
    if loss.op is None:
        raise ValueError("explore: the tensor is a leaf; pass the output of a computation (a scalar loss)")
    if loss.data.size != 1:
        raise ValueError(f"explore: the output has shape {loss.shape}; explore a scalar (e.g. loss.sum())")
    try:
        with record_backward(accumulate=False) as rec:
            loss.backward(retain_graph=True)
    except RuntimeError as e:
        if "second time" in str(e):
            raise RuntimeError(
                "explore: an earlier backward freed this graph; build it again, or run "
                "`with ta.record_backward() as rec: loss.backward()` first and explore the record"
            ) from e
        raise
    return rec
