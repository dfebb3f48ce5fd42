"""Model -> DOT text, built with the `graphviz` package (it does the quoting)."""

from __future__ import annotations

import graphviz

from . import colors, layout
from .model import Model, fmt

FONT = "Helvetica"


MAX_LINE = 120  # characters of one label line: a 16k-character name would make a node wider than any page


def plain(s, limit: int = MAX_LINE) -> str:
    """`s` as printable text of at most `limit` characters: control characters (NUL, BEL, ...) shown as
    \\xNN, which neither DOT nor the SVG's XML can carry; a longer text cut with an ellipsis."""
    s = str(s).replace("\r", " ").replace("\n", " ")
    if any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in s):
        s = "".join(f"\\x{ord(c):02x}" if ord(c) < 32 or 0x7F <= ord(c) < 0xA0 else c for c in s)
    return s if len(s) <= limit else s[: limit - 1] + "\u2026"


def text(lines, limit: int = MAX_LINE) -> graphviz.quoting.NoHtml:
    """Lines as one DOT label: printable (`plain`), backslashes escaped, never read as HTML."""
    if isinstance(lines, str):
        lines = [lines]
    return graphviz.nohtml("\\n".join(graphviz.escape(plain(x, limit)) for x in lines))


def _node_attrs(n):
    a = {
        "id": n.id,
        "label": text(n.label),
        "tooltip": text(n.tooltip, 4 * MAX_LINE),
        "fillcolor": n.fill,
    }  # id: the SVG <g>
    if n.kind == "op":
        a.update(shape="ellipse", style="filled", fontsize="9", height="0.25", margin="0.03,0.01", color="#888888")
    else:
        style = {"plain": "rounded,dashed", "zero": "rounded,filled,dashed"}.get(n.status, "rounded,filled")
        a.update(shape="box", style=style)
        if n.status in ("nan", "inf"):
            a["penwidth"] = "2.5"
        if n.status == "plain":
            a.update(color="#999999", fontcolor="#666666")
        else:
            a["fontcolor"] = colors.text_colour(n.fill)
        if n.kind == "summary":
            a["peripheries"] = "2"
        if n.kind == "ref":
            a.update(fontsize="8", height="0.2", margin="0.04,0.01")
    if n.outline:
        a.update(color=n.outline, penwidth="4")
    return a


NO_GRADIENTS = "no gradients here yet: viz.draw(loss, backward=True), or draw a ta.record_backward() record"
EDGE_NOTES = {
    "derivative": "edge ×a: the local derivative d out / d in = what the op passed back / what arrived at it",
    "range": "edge ×a…b: an elementwise local derivative, smallest … largest over the elements",
    "gain": "edge gain g: ||gradient passed to the input|| / ||gradient at the op|| (matrix ops, sums, broadcasts)",
}
NEED_RECORD = "edges unlabelled: edge labels come from a backward record (viz.draw(rec) or backward=True)"


def _legend_lines(model: Model) -> tuple[str, list[str]]:
    """(head, notes) of the legend: what the fill means, or how to get gradients; what edges and boxes mean."""
    has_grads = any(n.status in ("grad", "zero", "nan", "inf") for n in model.nodes)
    head = "fill = |grad| (log scale): dark = large, pale = vanishing" if has_grads else NO_GRADIENTS
    kinds = {e.kind for e in model.edges if e.label}
    notes = [text for kind, text in EDGE_NOTES.items() if kind in kinds]
    if model.derivatives and not model.recorded and has_grads:
        notes.append(NEED_RECORD)
    if model.collapsed:
        notes.append("collapsed view: one double box per cluster, coloured by its largest |grad|")
    return head, notes


def _legend(g: graphviz.Digraph, model: Model, rankdir: str) -> None:
    """The legend as plain nodes in a cluster (no HTML labels: every renderer draws them).

    The swatches form one row, largest gradient on the left: one rank for rankdir TB, one rank
    per swatch for LR. The head line and the notes are the cluster's label.
    """
    lo, hi = model.scale
    k = 5
    swatches = []
    for j in range(k):
        v = hi - (hi - lo) * j / (k - 1)
        fill = colors.grad_colour(v, lo, hi)
        swatches.append((f"{10**v:.1e}", {"fillcolor": fill, "fontcolor": colors.text_colour(fill)}))
    swatches += [
        ("no grad", {"fillcolor": colors.PLAIN_FILL, "style": "rounded,dashed", "color": "#999999"}),
        ("= 0", {"fillcolor": colors.ZERO_FILL}),
        ("NaN / Inf", {"fillcolor": colors.BAD_FILL}),
    ]
    head, notes = _legend_lines(model)
    leg = graphviz.Digraph("cluster_legend")
    label = "".join(graphviz.escape(x) + "\\l" for x in [head, *notes])  # \l: left-justified lines
    leg.attr(label=graphviz.nohtml(label), style="rounded", color="#aaaaaa", fontsize="10", labeljust="l")
    ids = [f"legend_{j}" for j in range(len(swatches))]
    for i, (label, attrs) in zip(ids, swatches):
        leg.node(i, label=text(label), shape="box", style=attrs.pop("style", "rounded,filled"), fontsize="9",
                 width="0.7", height="0.25", margin="0.04,0.01", **attrs)  # fmt: skip
    if rankdir in ("LR", "RL"):  # one swatch per rank: a row across the ranks
        for a, b in zip(ids, ids[1:]):
            leg.edge(a, b, style="invis")
    else:  # one rank: flat edges keep the order in the row
        row = graphviz.Digraph("legend_row")
        row.attr(rank="same")
        for a, b in zip(ids, ids[1:]):
            row.edge(a, b, style="invis")
        leg.subgraph(row)
    g.subgraph(leg)


def cluster_label(path: str, labels: dict[str, str]) -> str:
    """The cluster's last name, plus its entry in `labels` (looked up by full path, then by name)."""
    name = path.rsplit("/", 1)[-1]
    extra = labels.get(path, labels.get(name))
    return f"{name}: {extra}" if extra else name


def to_dot(model: Model, rankdir: str = "LR", labels: dict[str, str] | None = None) -> str:
    """DOT source of the model (deterministic: same model, same bytes).

    Edges between two time steps (`t=N` clusters) do not constrain the ranks: the steps stand
    side by side and the recurrence runs across.
    """
    labels = labels or {}
    g = graphviz.Digraph("tinygrad_attn")
    g.attr(rankdir=rankdir, fontname=FONT, ranksep="0.25", nodesep="0.18")
    if model.title:
        g.attr(label=text(model.title), labelloc="t", fontsize="16")
    g.attr("node", fontname=FONT, fontsize="10", height="0.3", margin="0.08,0.03")
    g.attr("edge", fontname=FONT, fontsize="8", arrowsize="0.6", color="#555555")
    subs = {c: graphviz.Digraph(f"cluster_{i}") for i, c in enumerate(model.clusters)}
    for c, sub in subs.items():
        sub.attr(
            label=text(cluster_label(c, labels)),
            style="rounded",
            color="#aaaaaa",
            fontsize="10",
            tooltip=text(c, 4 * MAX_LINE),
        )
    for n in model.nodes:
        attrs = _node_attrs(n)
        if n.kind == "summary" and n.summary_of:
            attrs["label"] = text([cluster_label(n.summary_of, labels)] + n.label[1:])
        (subs[n.cluster] if n.cluster else g).node(n.id, **attrs)
    for c in sorted(model.clusters, key=lambda c: -c.count("/")):  # deepest first, siblings in order
        parent = c.rsplit("/", 1)[0] if "/" in c else ""
        (subs[parent] if parent else g).subgraph(subs[c])
    kind = {n.id: n.kind for n in model.nodes}
    steps = layout.step_index(model)
    for e in model.edges:
        attrs = {} if kind.get(e.src) == "ref" else {"weight": "4"}  # keep the data path straight
        if layout.cross_step(steps, e):
            attrs["constraint"] = "false"
        if e.label:
            attrs["label"] = text(e.label)
        if e.tooltip:
            attrs["tooltip"] = text(e.tooltip, 4 * MAX_LINE)
        g.edge(e.src, e.dst, **attrs)
    if model.legend:
        _legend(g, model, rankdir)
    return g.source


__all__ = ["to_dot", "text", "fmt"]
