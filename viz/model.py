"""The graph as plain data: nodes, edges, clusters, built by one iterative walk.

Nothing here knows graphviz. `build(root, ...)` reads a finished graph (it never changes it)
and returns a `Model`; `viz.dot` turns a Model into DOT text. The gradients and the edge labels
come from a source in `viz.grads`: a backward record, or the `.grad` the tensors hold.

Node ids come from the walk order (`n0`, `n1`, ... inputs before outputs), never from `id()`,
so the same program always gives the same ids.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from . import colors
from .grads import Held, fmt, norm
from .walk import walk


@dataclass
class Node:
    """One box in the picture: a tensor, an op, a cluster summary, or the legend."""

    id: str
    kind: str  # "tensor" | "op" | "summary"
    label: list[str]  # lines, unescaped
    tooltip: list[str]  # lines, unescaped
    cluster: str = ""  # scope path ("" top level)
    grad_norm: float | None = None  # None: no gradient reached it
    status: str = "plain"  # "grad" | "zero" | "nan" | "inf" | "plain" (op nodes: "op")
    fill: str = colors.PLAIN_FILL
    outline: str | None = None  # colour of a thick outline (highlight / gradcheck failure)
    summary_of: str = ""  # summary nodes: the cluster path they stand for
    ref_of: str = ""  # ref nodes: the id of the tensor's full box
    tensor: object = field(default=None, repr=False, compare=False)
    fn: object = field(default=None, repr=False, compare=False)  # op nodes: the Function


@dataclass
class Edge:
    """Data flows src -> dst; `label` tells how backward scaled the gradient on it (may be None).

    kind: "derivative" (the local derivative), "range" (elementwise, smallest..largest) or
    "gain" (||contribution|| / ||incoming gradient||), see `viz.grads.edge_label`.
    """

    src: str
    dst: str
    label: str | None = None
    tooltip: str | None = None
    kind: str | None = None


@dataclass
class Model:
    """Nodes in walk order, edges, the cluster paths in use and the colour scale (log10 ends)."""

    nodes: list[Node]
    edges: list[Edge]
    clusters: list[str]
    scale: tuple[float, float]
    collapsed: bool = False
    title: str | None = None
    legend: bool = True
    recorded: bool = False  # gradients and edge labels come from a backward record
    derivatives: bool = False  # edge labels were asked for


def grad_status(g):
    """(status, norm) of a gradient array (None: no gradient): plain/zero/nan/inf/grad."""
    if g is None:
        return "plain", None
    n = norm(g)
    if math.isnan(n):
        return "nan", math.nan
    if math.isinf(n):
        return "inf", math.inf
    return ("zero", 0.0) if n == 0.0 else ("grad", n)


def _stats(arr) -> str:
    a = np.asarray(arr, dtype=np.float64)
    if a.size == 0:
        return "empty"
    if a.size == 1:  # one number: skip three numpy reductions (most nodes of a scalar graph)
        v = fmt(float(a.reshape(())))
        return f"min {v}  mean {v}  max {v}"
    with np.errstate(all="ignore"):
        return f"min {fmt(np.min(a))}  mean {fmt(np.mean(a))}  max {fmt(np.max(a))}"


def _leaf_scope(consumer_scopes):
    """A leaf belongs to the deepest scope shared by all the ops that use it."""
    parts = [s.split("/") if s else [] for s in consumer_scopes]
    if not parts:
        return ""
    common = parts[0]
    for p in parts[1:]:
        k = 0
        while k < min(len(common), len(p)) and common[k] == p[k]:
            k += 1
        common = common[:k]
    return "/".join(common)


def build(root, *, grads=None, derivatives=True, constants=True, scale=None, title=None, legend=True, share=True):
    """Model of the graph ending at `root` (a tensor or a list of them; see `viz.draw` for the options).

    grads: where the gradients and edge labels come from (`viz.grads.Recorded(rec)`; default
    `Held()`, the tensors' `.grad`, no edge labels). With `share`, a leaf used in several
    clusters (a parameter such as W_h shared by every time step) is drawn once at top level and
    referenced by a small copy inside each cluster, so the layout stays a clean chain of
    clusters instead of a fan of long edges.
    """
    grads = grads or Held()
    order = walk(root)
    roots = {id(r) for r in (root if isinstance(root, (list, tuple)) else [root])}
    consumers = {}
    for t in order:
        fn = t.op
        if fn is not None:
            for p in fn.inputs:
                consumers.setdefault(p, []).append(fn.scope)
    hidden = set()
    if not constants:
        hidden = {t for t in order if t.op is None and not t.requires_grad and id(t) not in roots}
    shared = set()
    if share:
        shared = {t for t in order if t.op is None and len({s for s in consumers.get(t, []) if s}) > 1}
    refs = {}  # (tensor, scope) -> id of its reference node in that cluster
    nref, byid = {}, {}

    arrays = {t: grads.grad(t) for t in order}
    status = {t: grad_status(arrays[t]) for t in order}
    if scale is None:
        scale = colors.nice_scale([math.log10(n) for s, n in status.values() if s == "grad" and math.isfinite(n)])
    lo, hi = scale

    nodes, edges, tid = [], [], {}
    for t in order:
        if t in hidden:
            continue
        fn = t.op
        cluster = fn.scope if fn is not None else _leaf_scope(consumers.get(t, []))
        op_id = None
        if fn is not None:
            op_id = f"n{len(nodes)}"
            nodes.append(_op_node(op_id, fn, cluster))
            labels = grads.edges(fn) if derivatives else None
            for i, p in enumerate(fn.inputs):
                if p in hidden:
                    continue
                src = tid[p]
                if p in shared and fn.scope:
                    src = refs.get((p, fn.scope))
                    if src is None:
                        nref[p] = nref.get(p, 0) + 1
                        src = refs[(p, fn.scope)] = f"{tid[p]}r{nref[p]}"
                        nodes.append(_ref_node(src, byid[tid[p]], fn.scope))
                found = labels[i] if labels is not None else None
                edges.append(Edge(src, op_id, *found) if found else Edge(src, op_id))
        node = _tensor_node(f"n{len(nodes)}", t, fn, cluster, arrays[t], status[t], lo, hi, grads)
        tid[t] = node.id
        byid[node.id] = node
        nodes.append(node)
        if op_id is not None:
            edges.append(Edge(op_id, node.id))
    model = Model(nodes, edges, _cluster_paths(nodes), (lo, hi), title=title, legend=legend)
    model.recorded, model.derivatives = grads.recorded, derivatives
    return model


def _op_node(node_id, fn, cluster):
    doc = (type(fn).__doc__ or "").strip().splitlines()
    tip = [f"op {fn.name}", f"backward: {doc[0] if doc else '(no rule documented)'}"]
    tip += [f"scope {fn.scope}"] if fn.scope else []
    return Node(node_id, "op", [fn.name], tip, cluster=cluster, status="op", fill=colors.OP_FILL, fn=fn)


def _cluster_paths(nodes):
    """Every cluster path in use plus its ancestors, in order of first appearance."""
    out = {}
    for n in nodes:
        if n.cluster and n.cluster not in out:
            parts = n.cluster.split("/")
            for k in range(1, len(parts) + 1):
                out.setdefault("/".join(parts[:k]), None)
    return list(out)


def _ref_node(node_id, main, cluster):
    tip = [f"{main.label[0]}: shared, used in several clusters; drawn in full once at top level"]
    tip += main.tooltip[1:]
    return Node(
        node_id,
        "ref",
        [main.label[0]],
        tip,
        cluster=cluster,
        grad_norm=main.grad_norm,
        status=main.status,
        fill=main.fill,
        ref_of=main.id,
    )


def grad_line(status, norm, requires_grad=True) -> str:
    """The last label line of a tensor box: its gradient's norm, or why there is none."""
    return {
        "plain": "no grad" if requires_grad else "no grad needed",
        "zero": "|grad| = 0",
        "nan": "|grad| NaN",
        "inf": "|grad| Inf",
    }.get(status, f"|grad| {fmt(norm)}" if norm is not None else "")


def fill_of(status, norm, lo, hi) -> str:
    """The fill of a box with this gradient status on the colour scale (lo, hi) in log10 units."""
    if status == "grad":
        return colors.grad_colour(math.log10(norm), lo, hi)
    if status == "zero":
        return colors.ZERO_FILL
    return colors.BAD_FILL if status in ("nan", "inf") else colors.PLAIN_FILL


def grad_tip(g, norm) -> str:
    """The tooltip line of a gradient array."""
    return f"grad: {_stats(g)}  norm {fmt(norm)}"


def _tensor_node(node_id, t, fn, cluster, g, st, lo, hi, grads):
    s, norm = st
    lines = []
    if t.name:
        lines.append(str(t.name))
    elif fn is not None:
        lines.append(fn.name)  # an unnamed result is labelled by the op that made it
    else:
        lines.append("const" if not t.requires_grad else "leaf")
    lines.append(f"= {fmt(float(t.data))}" if t.data.ndim == 0 else str(tuple(t.data.shape)))
    lines.append(grad_line(s, norm, t.requires_grad))
    tip = [
        (t.name or (f"output of {fn.name}" if fn is not None else "leaf")),
        f"dtype {t.data.dtype}, shape {tuple(t.data.shape)}",
        f"value: {_stats(t.data)}",
    ]
    if g is not None:
        tip.append(grad_tip(g, norm))
    else:
        tip.append("grad: none" + ("" if t.requires_grad else " (does not require grad)"))
    k = grads.step_of(t)
    if k is not None:
        tip.append(f"backward step {k + 1} of {grads.steps} (the engine's order)")
    if fn is not None:
        doc = (type(fn).__doc__ or "").strip().splitlines()
        if doc:
            tip.append(f"made by {fn.name}: {doc[0]}")
    if cluster:
        tip.append(f"scope {cluster}")
    fill = fill_of(s, norm, lo, hi)
    return Node(node_id, "tensor", lines, tip, cluster=cluster, grad_norm=norm, status=s, fill=fill, tensor=t)


# ---- collapse -----------------------------------------------------------------------------
def collapse(model: Model, max_nodes: int) -> Model:
    """One summary node per cluster (at the finest depth that fits) when there are too many nodes.

    A summary carries its cluster's largest gradient norm. Nodes at top level stay as they are.
    A graph without clusters (or still far too big) is cut into runs of consecutive nodes in walk
    order instead, so drawing never fails for size.
    """
    if len(model.nodes) <= max_nodes:
        return model
    if model.clusters:
        model = _collapse_clusters(model, max_nodes)
    if len(model.nodes) > 4 * max_nodes:
        model = _collapse_runs(model, max_nodes)
    return model


def _merge(model, key, parents):
    """Replace the nodes with a non-empty key by one summary per key; edges follow."""
    groups: dict[str, list[Node]] = {}
    for n in model.nodes:
        if key[n.id]:
            groups.setdefault(key[n.id], []).append(n)
    lo, hi = model.scale
    nodes, ids, rename = [], {}, {}
    for n in model.nodes:
        k = key[n.id]
        if not k:
            nodes.append(n)
            rename[n.id] = n.id
            continue
        if k not in ids:
            ids[k] = n.id  # the summary takes the id of its first member: stable
            nodes.append(_summary(n.id, k, groups[k], lo, hi))
        rename[n.id] = ids[k]
    edges, seen = [], set()
    for e in model.edges:
        s, d = rename[e.src], rename[e.dst]
        if s == d or (s, d) in seen:
            continue
        seen.add((s, d))
        edges.append(e if s == e.src and d == e.dst else Edge(s, d))
    return dataclasses.replace(model, nodes=nodes, edges=edges, clusters=parents, collapsed=True)


def _collapse_runs(model, max_nodes):
    size = -(-len(model.nodes) // max(1, max_nodes // 2))
    key = {}
    for i, n in enumerate(model.nodes):
        a = (i // size) * size
        key[n.id] = f"nodes {a}-{min(a + size, len(model.nodes)) - 1}"
    return _merge(model, key, [])


def _collapse_clusters(model, max_nodes):
    depth = max(c.count("/") + 1 for c in model.clusters)
    while True:
        key = {n.id: _cut(n.cluster, depth) for n in model.nodes}
        count = len({k for k in key.values() if k}) + sum(1 for k in key.values() if not k)
        if count <= max_nodes or depth == 1:
            break
        depth -= 1
    parents = [c for c in model.clusters if c.count("/") + 1 < depth]
    return _merge(model, key, parents)


def _cut(path, depth):
    """The cluster at `depth` holding `path` ("" when `path` is shallower: the node stays itself)."""
    parts = path.split("/") if path else []
    return "/".join(parts[:depth]) if len(parts) >= depth else ""


def _summary(node_id, path, members, lo, hi):
    tensors = [m for m in members if m.kind in ("tensor", "summary")]
    bad = [m for m in tensors if m.status in ("nan", "inf")]
    norms = [m.grad_norm for m in tensors if m.status == "grad"]
    zero = any(m.status == "zero" for m in tensors)
    name = path.rsplit("/", 1)[-1]
    lines = [name]
    if bad:
        status, top, fill = "nan", math.nan, colors.BAD_FILL
        lines.append("|grad| NaN/Inf")
    elif norms:
        top = max(norms)
        status, fill = "grad", colors.grad_colour(math.log10(top), lo, hi)
        lines.append(f"max |grad| {fmt(top)}")
    elif zero:
        status, top, fill = "zero", 0.0, colors.ZERO_FILL
        lines.append("|grad| = 0")
    else:
        status, top, fill = "plain", None, colors.PLAIN_FILL
        lines.append("no grad")
    named = [m.tensor.name for m in tensors if m.tensor is not None and m.tensor.name]
    tip = [f"{path}: {len(tensors)} tensors, {len(members) - len(tensors)} ops (collapsed)"]
    if named:
        tip.append("named: " + ", ".join(str(x) for x in named[:12]) + (" ..." if len(named) > 12 else ""))
    if norms:
        tip.append(f"largest |grad| {fmt(max(norms))}, smallest {fmt(min(norms))}")
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    return Node(
        node_id, "summary", lines, tip, cluster=parent, grad_norm=top, status=status, fill=fill, summary_of=path
    )
