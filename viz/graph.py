"""`draw(tensor_or_record) -> Graph`: the computation graph coloured by the gradient that reached each node."""

from __future__ import annotations

import os

from . import colors, layout, render
from .dot import to_dot
from .grads import source_for
from .model import Model, _collapse_runs, build, fmt
from .sources import as_source


class Graph:
    """A drawn graph: the data model (`nodes`, `edges`, `clusters`), its DOT `source` and renderers."""

    def __init__(self, model: Model, rankdir: str = "LR", labels: dict[str, str] | None = None, record=None):
        self.model = model
        self.rankdir = rankdir
        self.labels = dict(labels or {})
        self.record = record  # the backward record the numbers come from (None: read from .grad)
        self._source = None
        self._svg = None  # (source, SVG bytes) of the embedded renderer

    @property
    def nodes(self):
        return self.model.nodes

    @property
    def edges(self):
        return self.model.edges

    @property
    def clusters(self):
        return self.model.clusters

    @property
    def scale(self):
        """(lo, hi): the ends of the colour scale in log10 ||grad||."""
        return self.model.scale

    @property
    def source(self) -> str:
        """The DOT text (byte-identical for the same program)."""
        if self._source is None:
            self._source = to_dot(self.model, self.rankdir, self.labels)
        return self._source

    def node_for(self, tensor):
        """The node drawn for `tensor` (None if hidden or collapsed)."""
        for n in self.model.nodes:
            if n.tensor is tensor:
                return n
        return None

    def pipe(self, format: str = "svg", dpi: float | None = None, timeout: float | None = render.DEFAULT_TIMEOUT):
        """The picture as bytes in `format` (svg and png work without system Graphviz).

        dpi: bitmap resolution (default 96). timeout: seconds the system `dot` may run (None: no limit).
        """
        fmt_ = format.lower().lstrip(".")
        if fmt_ not in ("svg", "png") or render.system_dot() is not None:
            return render.to_bytes(self.source, fmt_, dpi, timeout)
        if self._svg is None or self._svg[0] != self.source:  # embedded: PNG comes from the SVG, laid out once
            self._svg = (self.source, render.to_bytes(self.source, "svg", None, timeout))
        return self._svg[1] if fmt_ == "svg" else render.svg_to_png(self._svg[1], dpi)

    def render(self, path, format: str | None = None, dpi: float | None = None, timeout=render.DEFAULT_TIMEOUT):
        """Write the picture to `path` atomically; the format comes from the suffix (.svg .png .pdf .dot)."""
        path = os.fspath(path)
        fmt_ = (format or os.path.splitext(path)[1].lstrip(".") or "svg").lower()
        render.write_atomic(path, self.pipe(fmt_, dpi, timeout))
        return path

    def _repr_svg_(self) -> str:
        return self.pipe("svg").decode("utf-8")

    def __repr__(self):
        kinds = {}
        for n in self.nodes:
            kinds[n.kind] = kinds.get(n.kind, 0) + 1
        parts = ", ".join(f"{v} {k}" for k, v in sorted(kinds.items()))
        return f"Graph({parts}, {len(self.edges)} edges, {len(self.clusters)} clusters)"


def draw(
    tensor_or_record,
    *,
    backward: bool = False,
    derivatives: bool = True,
    constants: bool = True,
    max_nodes: int | None = 400,
    max_width: float | None = 2400.0,
    collapse=None,
    expand=None,
    labels: dict[str, str] | None = None,
    scale: tuple[float, float] | None = None,
    title: str | None = None,
    legend: bool = True,
    rankdir: str | None = None,
) -> Graph:
    """Draw the graph behind a tensor or a `ta.record_backward()` record, each tensor filled by log10 ||grad||.

    A record gives every number: the gradient each tensor received (no `retain_grad` needed),
    each edge's label (what the op passed back over what arrived at it) and the step order in
    the tooltips. A tensor is drawn with the `.grad` it holds (colours only; without a backward
    yet, the structure and a hint); `backward=True` instead records one backward from it (a
    scalar whose graph is still alive) and puts every `.grad` back as it was.
    derivatives: label edges: `×a` the local derivative (scalar, or elementwise with one value),
    `×a…b` its range (elementwise), `gain g` = ||contribution|| / ||incoming|| (matrix ops, sums,
    broadcasts). constants: show leaves that do not require grad. max_nodes, max_width (points,
    estimated before layout): above either, clusters (`ta.scope`) collapse into summary nodes,
    deepest first; None turns a budget off. collapse / expand: scope-name patterns (fnmatch, on
    the full path or the last name, e.g. "t=*", "encoder/*") always collapsed / never collapsed
    by the budget. labels: extra text per cluster, e.g. {"t=1": "Tom"}. scale: (lo, hi) in log10
    units to share one colour scale between pictures. rankdir: "LR", "TB", "BT"...; default "BT"
    (inputs below, time steps side by side) when `t=N` scopes are drawn open, else "LR".
    """
    for name, v in (("max_nodes", max_nodes), ("max_width", max_width)):
        if v is not None and not v > 0:
            raise ValueError(f"draw: {name} must be a positive number or None (no limit), got {v!r}")
    roots, grads = source_for(as_source(tensor_or_record, "draw"), backward, "draw")
    root = roots[0] if len(roots) == 1 else roots
    model = build(
        root, grads=grads, derivatives=derivatives, constants=constants, scale=scale, title=title, legend=legend
    )
    model.clusters = layout.order_clusters(model.clusters)
    if collapse:
        model = layout.collapse_matching(model, collapse)
    auto = rankdir is None
    if auto:
        rankdir = "BT" if any(layout.node_step(n) for n in model.nodes) else "LR"
    model = layout.fit(model, max_nodes, max_width, rankdir, expand)
    if auto and not any(layout.node_step(n) for n in model.nodes):
        rankdir = "LR"  # no open steps left: a chain of summaries reads left to right
    if max_nodes is not None and len(model.nodes) > 4 * max_nodes:  # no clusters to fold: runs of nodes
        model = _collapse_runs(model, max_nodes)
    return Graph(model, rankdir, labels, grads.record)


def draw_gradcheck_failure(loss, x, element, analytic, numeric, **kwargs) -> Graph:
    """The graph of `loss` (a tensor or a record) with input `x` outlined in red, both values in its tooltip."""
    element = tuple(int(k) for k in element)
    name = x.name or "input"
    kwargs.setdefault(
        "title",
        f"gradcheck failed at d loss / d {name}{list(element)}: analytic {analytic:.6g} vs numeric {numeric:.6g}",
    )
    g = draw(loss, **kwargs)
    node = g.node_for(x)
    if node is None:  # collapsed into a summary: outline the summary holding it
        node = next((n for n in g.nodes if n.kind == "summary"), None)
    if node is not None:
        node.outline = colors.FAIL
        node.label = node.label + ["gradcheck FAILED"]
        node.tooltip = node.tooltip + [
            f"gradcheck FAILED at element {element}",
            f"analytic (backward): {analytic:.8g}",
            f"numeric (central difference): {numeric:.8g}",
            f"difference: {fmt(abs(analytic - numeric))}",
        ]
    g._source = None
    return g
