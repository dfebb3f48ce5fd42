"""Layout choices made before Graphviz runs: time-step order, collapse by pattern, a width budget.

Time steps are clusters named `t=<N>` (`ta.scope("t=3")`, nested or not). They are ordered by N,
and edges between two open ones do not constrain the ranks, so the steps stand side by side with
the recurrence running across (as in an unrolled-RNN figure) instead of a diagonal staircase.
Steps collapsed into summary boxes chain along the ranks instead (left to right with rankdir LR).
"""

from __future__ import annotations

import fnmatch
import re

from .model import Model, _cut, _merge

STEP = re.compile(r"^t=(\d+)$")
CHAR_PT = 5.6  # average width of a 10 pt Helvetica character, in points
NODE_PAD_PT = 22.0  # margins plus nodesep around one node


def step_of(path: str) -> str:
    """The deepest time-step cluster on `path` ("" if none): "decoder/t=2/attention" -> "decoder/t=2"."""
    parts = path.split("/") if path else []
    for k in range(len(parts), 0, -1):
        if STEP.match(parts[k - 1]):
            return "/".join(parts[:k])
    return ""


def node_step(n) -> str:
    """The open time-step cluster a node is drawn in ("" if none).

    A summary of a whole step is not inside it: collapsed steps chain along the ranks as usual.
    """
    return step_of(n.cluster)


def order_clusters(paths: list[str]) -> list[str]:
    """`paths` with the sibling time steps of each parent sorted by N; everything else keeps its place."""
    slots: dict[str, list[int]] = {}
    for i, p in enumerate(paths):
        name = p.rsplit("/", 1)[-1]
        if STEP.match(name):
            slots.setdefault(p.rsplit("/", 1)[0] if "/" in p else "", []).append(i)
    out = list(paths)
    for idx in slots.values():
        ordered = sorted((paths[i] for i in idx), key=lambda p: int(STEP.match(p.rsplit("/", 1)[-1]).group(1)))
        for i, p in zip(idx, ordered):
            out[i] = p
    return out


def matches(path: str, patterns) -> bool:
    """True if the cluster `path` or its last name matches one of the fnmatch `patterns`."""
    if not patterns:
        return False
    if isinstance(patterns, str):
        patterns = [patterns]
    name = path.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(path, p) or fnmatch.fnmatchcase(name, p) for p in patterns)


def collapse_matching(model: Model, patterns) -> Model:
    """Each cluster matching `patterns` (the outermost one, when nested) becomes one summary node."""
    hits = [c for c in model.clusters if matches(c, patterns)]
    if not hits:
        return model

    def owner(path):
        parts = path.split("/") if path else []
        for k in range(1, len(parts) + 1):
            if "/".join(parts[:k]) in hits:
                return "/".join(parts[:k])
        return ""

    key = {n.id: owner(n.cluster) for n in model.nodes}
    keep = [c for c in model.clusters if not owner(c)]
    return _merge(model, key, keep)


def step_index(model: Model) -> dict[str, str]:
    """Node id -> its time step path ("" outside any)."""
    return {n.id: node_step(n) for n in model.nodes}


def cross_step(steps: dict[str, str], e) -> bool:
    """An edge between two different time steps (it should not push the later step down a rank)."""
    a, b = steps.get(e.src, ""), steps.get(e.dst, "")
    return bool(a and b and a != b)


def estimate_width(model: Model, rankdir: str) -> float:
    """Rough width in points of the Graphviz drawing (no layout run): ranks by longest path.

    TB/BT: the widest rank's nodes side by side. LR/RL: the ranks one after another.
    """
    steps = step_index(model)
    pos = {n.id: i for i, n in enumerate(model.nodes)}  # walk order: inputs before outputs
    constrained = sorted((e for e in model.edges if not cross_step(steps, e)), key=lambda e: pos[e.src])
    rank = {n.id: 0 for n in model.nodes}
    for e in constrained:
        rank[e.dst] = max(rank[e.dst], rank[e.src] + 1)
    per_rank: dict[int, list[float]] = {}
    for n in model.nodes:
        per_rank.setdefault(rank[n.id], []).append(max(len(line) for line in n.label) * CHAR_PT + NODE_PAD_PT)
    if rankdir in ("LR", "RL"):
        return sum(max(ws) for ws in per_rank.values()) + 18.0 * len(per_rank)
    return max((sum(ws) for ws in per_rank.values()), default=0.0)


def fit(model: Model, max_nodes, max_width, rankdir: str, expand=None) -> Model:
    """Collapse clusters, deepest level first, until the drawing fits the node and width budgets.

    Clusters matching `expand` (and what is inside them) stay open.
    """

    def fits(m):
        return (max_nodes is None or len(m.nodes) <= max_nodes) and (
            max_width is None or estimate_width(m, rankdir) <= max_width
        )

    if fits(model) or not model.clusters:
        return model
    depth = max(c.count("/") + 1 for c in model.clusters)
    trial = model
    while depth >= 1:
        key = {}
        for n in model.nodes:
            path = _cut(n.cluster, depth)
            key[n.id] = "" if path and _open(path, expand) else path
        keep = [c for c in model.clusters if c.count("/") + 1 < depth or _open(c, expand)]
        trial = _merge(model, key, keep)
        if fits(trial):
            break
        depth -= 1
    return trial


def _open(path, expand) -> bool:
    """A cluster stays drawn when it or one of its ancestors is expanded."""
    parts = path.split("/")
    return any(matches("/".join(parts[:k]), expand) for k in range(1, len(parts) + 1))
