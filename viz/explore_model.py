"""The explorer's drawing model: one box per tensor, grouped into the calls and scopes that made them.

A composite call (`F.cross_entropy`, a Module's forward, see `tinygrad_attn.calls.calls_of`) is one group,
closed by default; a `ta.scope` is a group drawn open, except the time steps `t=N` of a
recurrent call (one box per step, as the book unrolls it). A group that holds nothing but one
other group is merged with it. Everything here is plain data handed on to `viz.explore_data`;
it never reads a gradient and knows nothing of pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tinygrad_attn.calls import calls_of

from .walk import walk

STEP = re.compile(r"^t=(\d+)$")


@dataclass
class Node:
    """One tensor: its index in `Drawing.nodes`, the innermost group holding it (-1: top level)."""

    index: int
    tensor: object = field(repr=False)
    group: int = -1
    kind: str = "op"  # "op" (made by an op) | "leaf" (requires grad) | "const"

    @property
    def id(self) -> str:
        return f"n{self.index}"


@dataclass
class Group:
    """A call or a scope: its label, parent group (-1: top level), and the nodes and groups directly inside."""

    index: int
    label: str
    kind: str  # "call" | "scope" | "step" (a time step of a recurrent call)
    parent: int = -1
    title: str = ""  # the full name, for the tooltip (`decoder.0.self_attn: MultiHeadAttention`)
    open: bool = False  # drawn open when the page loads
    nodes: list = field(default_factory=list)
    children: list = field(default_factory=list)
    inputs: list = field(default_factory=list)  # node indices outside feeding nodes inside
    outputs: list = field(default_factory=list)  # node indices inside used outside (or the root)

    @property
    def id(self) -> str:
        return f"g{self.index}"


@dataclass
class Drawing:
    """Nodes in walk order (inputs first), groups, edges (src node, dst node) and the root's node."""

    nodes: list
    groups: list
    edges: list
    root: int
    heading: str

    def node_for(self, tensor):
        """The node of `tensor` (None if not drawn)."""
        for n in self.nodes:
            if n.tensor is tensor:
                return n
        return None

    def ancestors(self, node_index: int) -> list:
        """The groups holding a node, innermost first."""
        out, g = [], self.nodes[node_index].group
        while g != -1:
            out.append(g)
            g = self.groups[g].parent
        return out


def build(root, *, constants: bool = True, max_nodes: int | None = None) -> Drawing:
    """The drawing of the graph ending at `root`; with `max_nodes`, open scopes close (deepest first) until it fits."""
    order = [t for t in walk(root) if constants or t.op is not None or t.requires_grad or t is root]
    drawn = {id(t) for t in order}
    nodes = [Node(i, t, kind=_kind(t)) for i, t in enumerate(order)]
    index = {id(t): i for i, t in enumerate(order)}
    edges = []
    for n in nodes:
        if n.tensor.op is not None:
            for p in n.tensor.op.inputs:
                if id(p) in drawn and (index[id(p)], n.index) not in edges[-len(n.tensor.op.inputs) :]:
                    edges.append((index[id(p)], n.index))
    chains, calls = _chains(order, index)
    groups, keys = [], {}
    for n in nodes:
        chain = chains[n.index]
        for k in range(1, len(chain) + 1):
            key = chain[:k]
            if key not in keys:
                keys[key] = len(groups)
                groups.append(_group(len(groups), key, keys.get(key[:-1], -1), calls))
        n.group = keys[chain] if chain else -1
    drawing = Drawing(nodes, groups, edges, index[id(root)], "")
    _fill(drawing)
    _merge_single(drawing)
    _label_steps(drawing)
    _ports(drawing)
    if max_nodes is not None:
        _fit(drawing, max_nodes)
    drawing.heading = _heading(drawing)
    return drawing


def _kind(t) -> str:
    if t.op is not None:
        return "op"
    return "leaf" if t.requires_grad else "const"


# ---- the chain of groups of each node -------------------------------------------------------------
def _chains(order, index):
    """(per node its group keys outermost first, {id(call): call}); a key is ("s", scope path) or ("c", id(call))."""
    calls = {}
    for t in order:
        for c in calls_of(t):
            calls[id(c)] = c
    spans = sorted(calls.values(), key=lambda c: (c.first, -c.last))
    inside, count = {}, {}
    for t in order:
        fn = t.op
        if fn is None:
            continue
        parts = fn.scope.split("/") if fn.scope else []
        keys = [("s", "/".join(parts[:k])) for k in range(1, len(parts) + 1)]
        seq = getattr(fn, "seq", None)
        if seq is not None:
            keys += [("c", id(c)) for c in spans if c.first < seq <= c.last]
        inside[id(t)] = keys
        for k in keys:
            count[k] = count.get(k, 0) + 1

    def rank(k):  # bigger groups outside; a scope outside a call of the same size; of two calls, the one begun first
        return (-count[k], 0, len(k[1])) if k[0] == "s" else (-count[k], 1, calls[k[1]].first)

    chains = [()] * len(order)
    consumers = {}
    for t in order:
        if t.op is not None:
            chain = tuple(sorted(inside[id(t)], key=rank))
            chains[index[id(t)]] = chain
            for p in t.op.inputs:
                consumers.setdefault(id(p), []).append(chain)
    for t in order:  # a leaf sits in the innermost group holding every op that uses it
        if t.op is None:
            chains[index[id(t)]] = _common(consumers.get(id(t), [()]))
    return chains, calls


def _common(chains) -> tuple:
    first = chains[0]
    k = len(first)
    for c in chains[1:]:
        k = min(k, len(c))
        for j in range(k):
            if c[j] != first[j]:
                k = j
                break
    return first[:k]


def _group(i, key, parent, calls) -> Group:
    kind, what = key[-1]
    if kind == "s":
        name = what.rsplit("/", 1)[-1]
        return Group(i, name, "scope", parent, title=f"scope {what}", open=True)
    c = calls[what]
    short = c.name.rsplit(".", 1)[-1]
    label = f"{short}: {c.label}" if short and short != c.label else c.label
    title = f"{c.name}: {c.label}" if c.name else c.label
    return Group(i, label, "call", parent, title=f"call {title}", open=False)


# ---- groups: contents, merging, time steps, inputs and outputs ---------------------------------------
def _fill(d: Drawing):
    for g in d.groups:
        g.nodes, g.children = [], []
    for n in d.nodes:
        if n.group != -1:
            d.groups[n.group].nodes.append(n.index)
    for g in d.groups:
        if g.parent != -1:
            d.groups[g.parent].children.append(g.index)


def _merge_single(d: Drawing):
    """A group holding nothing but one other group becomes that group (labelled by the more telling one)."""
    alive = list(range(len(d.groups)))
    for g in d.groups:
        if g.nodes or len(g.children) != 1:
            continue
        child = d.groups[g.children[0]]
        if g.kind == "call" and child.kind == "call":
            child.label, child.title = g.label, g.title + " / " + child.title
        elif g.kind == "scope" and child.kind == "scope":
            child.label, child.title = g.label + "/" + child.label, child.title
        child.kind = "call" if "call" in (g.kind, child.kind) else child.kind
        child.open = g.open and child.open
        child.parent = g.parent
        if g.parent != -1:
            siblings = d.groups[g.parent].children
            siblings[siblings.index(g.index)] = child.index
        alive.remove(g.index)
        g.parent = -2  # merged away
    renumber = {old: new for new, old in enumerate(alive)}
    renumber[-1] = -1
    groups = [d.groups[i] for i in alive]
    for g in groups:
        g.index, g.parent = renumber[g.index], renumber[g.parent]
        g.children = [renumber[c] for c in g.children]
    for n in d.nodes:
        while n.group != -1 and n.group not in renumber:
            n.group = d.groups[n.group].parent
        n.group = renumber[n.group]
    d.groups = groups


def _label_steps(d: Drawing):
    """The `t=N` scopes directly inside a call are that call's time steps: one closed box each."""
    for g in d.groups:
        if g.kind == "scope" and STEP.match(g.label) and g.parent != -1 and d.groups[g.parent].kind == "call":
            g.kind, g.open = "step", False
            g.title = f"{d.groups[g.parent].label.rsplit(': ', 1)[-1]} step {g.label}"


def _ports(d: Drawing):
    """Each group's inputs (nodes outside feeding nodes inside) and outputs (nodes inside used outside)."""
    inside = [set() for _ in d.groups]
    for n in d.nodes:
        for g in d.ancestors(n.index):
            inside[g].add(n.index)
    for g in d.groups:
        ins, outs = {}, {}
        for src, dst in d.edges:
            if dst in inside[g.index] and src not in inside[g.index]:
                ins[src] = True
            if src in inside[g.index] and dst not in inside[g.index]:
                outs[src] = True
        if d.root in inside[g.index]:
            outs[d.root] = True
        g.inputs, g.outputs = list(ins), sorted(outs)


def visible_count(d: Drawing, opened) -> int:
    """Boxes drawn when the groups in `opened` are open: nodes whose groups are all open, plus closed groups."""
    count = 0
    for n in d.nodes:
        if all(g in opened for g in d.ancestors(n.index)):
            count += 1
    for g in d.groups:
        p, shown = g.parent, True
        while p != -1:
            shown = shown and p in opened
            p = d.groups[p].parent
        count += shown and g.index not in opened
    return count


def _depth(d: Drawing, g) -> int:
    k = 0
    while g.parent != -1:
        g, k = d.groups[g.parent], k + 1
    return k


def _fit(d: Drawing, max_nodes: int):
    """Close open scopes, deepest first, while more than `max_nodes` boxes would be drawn."""
    while True:
        opened = {g.index for g in d.groups if g.open}
        if visible_count(d, opened) <= max_nodes or not opened:
            return
        deepest = max(_depth(d, d.groups[i]) for i in opened)
        for i in opened:
            if _depth(d, d.groups[i]) == deepest:
                d.groups[i].open = False


def _heading(d: Drawing) -> str:
    """ "backprop through" the outermost call that made the root (the loss the user wrote), else the root's name."""
    groups = [d.groups[g] for g in d.ancestors(d.root)]
    calls = [g for g in groups if g.kind == "call"]
    if calls:
        return f"backprop through {calls[-1].label}"
    t = d.nodes[d.root].tensor
    return f"backprop through {t.name or (t.op.name if t.op is not None else 'a leaf')}"
