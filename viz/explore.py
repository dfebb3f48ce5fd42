"""`viz.explore(loss)`: step through a backward pass, with its numbers, in one self-contained HTML page.

    page = viz.explore(loss)        # or viz.explore(rec) for a `ta.record_backward()` record
    page.save("backprop.html")      # open in any browser, offline
    page                            # inline in Jupyter

The page holds the graph laid out once by Graphviz (SVG), the record's numbers as JSON and a
small script of our own (no network, no CDN). It exposes `window.tinygradAttn` = {steps,
show(k), current()} and keeps the arithmetic of the current step in the element `#explain`.
"""

from __future__ import annotations

import html
import json
import os
import re

from tinygrad_attn import Tensor
from tinygrad_attn.record import Record, record_backward

from . import render
from .explore_data import page_data
from .explore_map import PREFIX
from .explore_page import page
from .graph import Graph, draw
from .sources import as_source


class Explorer:
    """The explorer page for one backward record: `html`, `save(path)`, shown inline in Jupyter."""

    def __init__(self, html_text: str, record: Record, graph: Graph, data: dict):
        self.html = html_text
        self.record = record
        self.graph = graph
        self.data = data

    @property
    def steps(self) -> list[tuple[str, str]]:
        """(DOM id, op name) of every step, in the engine's processing order (as `window.tinygradAttn.steps`)."""
        return [(s["id"], s["op"]) for s in self.data["steps"]]

    def save(self, path) -> str:
        """Write the page to `path` atomically (UTF-8); returns the path."""
        path = os.fspath(path)
        render.write_atomic(path, self.html.encode("utf-8"))
        return path

    def _repr_html_(self) -> str:
        doc = html.escape(self.html, quote=True)
        return (
            f'<iframe srcdoc="{doc}" sandbox="allow-scripts" title="backprop explorer" '
            'style="width:100%;height:680px;border:1px solid #ccc"></iframe>'
        )

    def __repr__(self):
        return f"Explorer({len(self.data['steps'])} steps, {len(self.html) / 1e3:.0f} kB)"


def explore(
    tensor_or_record,
    *,
    title: str | None = None,
    max_nodes: int | None = 400,
    max_values: int = 256,
    rankdir: str | None = None,
    derivatives: bool = True,
    constants: bool = True,
) -> Explorer:
    """The explorer page for a scalar `loss` (Tensor with its graph) or a `ta.record_backward()` record.

    Given a tensor, it runs `loss.backward(retain_graph=True)` inside
    `ta.record_backward(accumulate=False)`: exploring changes no `.grad` (hooks on intermediate
    tensors run, as they shape the gradients; leaf hooks do not).
    Given a record, it shows that record (one output; the graph must still be alive).
    max_nodes: above this many nodes clusters collapse into summary boxes (None: never).
    max_values: at most this many numbers of any array go into the page (statistics cover all).
    rankdir: the drawing's direction ("LR", "TB", ...; default as `viz.draw`).
    """
    tensor_or_record = as_source(tensor_or_record, "explore")
    if isinstance(tensor_or_record, Record):
        rec = tensor_or_record
        if not rec.steps:
            raise ValueError("explore: the record is empty; run loss.backward() inside ta.record_backward()")
        root = rec.roots[0]
        if any(r is not root for r in rec.roots):
            raise ValueError(f"explore: the record holds backward runs from {len(rec.roots)} outputs; record one")
    elif isinstance(tensor_or_record, Tensor):
        root = tensor_or_record
        rec = _record(root)
    else:
        raise TypeError(f"explore: expected a Tensor or a Record, got {type(tensor_or_record).__name__}")
    graph = _drawing(rec, max_nodes=max_nodes, rankdir=rankdir, derivatives=derivatives, constants=constants)
    heading = title or f"backprop through {root.name or (root.op.name if root.op else 'a leaf')}"
    data = page_data(rec, graph, root, max_values=max_values, title=heading, constants=constants)
    svg = prepare_svg(graph.pipe("svg").decode("utf-8"))
    return Explorer(page(heading, svg, page_json(data)), rec, graph, data)


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


def _drawing(rec, **kwargs) -> Graph:
    """`viz.draw` of the record: node gradients and edge labels from it, no width budget (the page pans)."""
    return draw(rec, max_width=None, **kwargs)


_NODE = re.compile(r'<g id="[^"]*" class="node">\s*<title>([^<]*)</title>\n?')
_EDGE = re.compile(r'<g id="([^"]*)" class="edge">\s*<title>([^<]*)</title>\n?')
_TITLE = re.compile(r"<title>[^<]*</title>\n?")
_TIP = re.compile(r' xlink:title="[^"]*"')
_COMMENT = re.compile(r"<!--.*?-->\n?", re.S)
_SIZE = re.compile(r'\s(width|height)="[^"]*"')


def prepare_svg(svg: str) -> str:
    """Graphviz SVG for the page: node groups get ids PREFIX + DOT name, edges name their ends.

    The native tooltips (`<title>`, `xlink:title`) go: they would show every node's final
    gradient, which the page reveals step by step.
    """
    svg = svg[svg.find("<svg") :] if "<svg" in svg else svg
    svg = _COMMENT.sub("", svg)

    def node(m):
        name = html.unescape(m.group(1))
        return f'<g id="{html.escape(PREFIX + name)}" class="node" data-n="{html.escape(name)}">'

    def edge(m):
        ends = html.unescape(m.group(2)).split("->")
        src, dst = (ends + [""])[:2] if len(ends) == 2 else ("", "")
        return (
            f'<g id="{m.group(1)}" class="edge" data-s="{html.escape(PREFIX + src)}" '
            f'data-d="{html.escape(PREFIX + dst)}">'
        )

    svg = _EDGE.sub(edge, _NODE.sub(node, svg))
    svg = _TIP.sub("", _TITLE.sub("", svg))
    head_end = svg.find(">")
    head = _SIZE.sub("", svg[:head_end])
    return head + ' width="100%" height="100%"' + svg[head_end:]


def page_json(data: dict) -> str:
    """The data as JSON that is safe inside a <script> element."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")
