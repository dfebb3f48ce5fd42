"""Where the explorer's things are: the drawn element of each tensor, time steps, attention nodes.

`Elements` maps a tensor to the node of the drawing that shows it (its box, its op, the copies of
a shared weight inside clusters, or the summary box its cluster folded into). `time_strip` and
`attention_steps` find, in the record, the state of each time step and the attention weights.
"""

from __future__ import annotations

import bisect
import re

STEP_SCOPE = re.compile(r"^t=(\d+)$")
PREFIX = "tg-"  # DOM id of a drawn node: PREFIX + its DOT name


def dom(node_id):
    """The page's DOM id for a drawing's node id (None stays None)."""
    return None if node_id is None else PREFIX + node_id


# ---- time steps and attention ------------------------------------------------------------------
def time_key(scope: str):
    """(group, t) of the deepest `t=N` scope on a path, or None: "rho=1/t=3/gate" -> ("rho=1", 3)."""
    parts = scope.split("/") if scope else []
    for k in range(len(parts), 0, -1):
        m = STEP_SCOPE.match(parts[k - 1])
        if m:
            return "/".join(parts[: k - 1]), int(m.group(1))
    return None


def time_strip(steps) -> list[dict]:
    """Per group of time steps: for each t, the step of the last state computed in that scope.

    "Last" is the node created last inside the t=N scope (its output is h_t); its gradient is
    ||dL/dh_t||.
    """
    last = {}
    for s in steps:
        key = time_key(s.scope)
        if key is None:
            continue
        prev = last.get((s.run, key))
        if prev is None or s.fn.seq > prev.fn.seq:
            last[(s.run, key)] = s
    groups: dict[tuple, list] = {}
    for (run, (group, t)), s in last.items():
        groups.setdefault((run, group), []).append({"t": t, "step": s.index, "name": s.tensor.name or s.op})
    out = []
    for (run, group), items in groups.items():
        items.sort(key=lambda d: d["t"])
        label = group + (f" (run {run + 1})" if run else "")
        out.append({"group": label, "scope": group, "run": run, "items": items})
    return out


def attention_steps(steps, limit: int = 24) -> list[dict]:
    """[{step, label}] of the Softmax steps inside an `attention` scope (their output: the weights)."""
    out = []
    for s in steps:
        if s.op == "Softmax" and "attention" in s.scope.lower():
            out.append({"step": s.index, "label": s.scope})
            if len(out) >= limit:
                break
    return out


# ---- which element of the drawing shows which tensor ---------------------------------------
class Elements:
    """Model node ids of the drawing for each tensor (its box, its op, copies of shared leaves, summaries)."""

    def __init__(self, graph, root, consumer_scopes, constants=True):
        model = graph.model
        by_id = {n.id: n for n in model.nodes}
        kind = {n.id: n.kind for n in model.nodes}
        self.box = {id(n.tensor): n.id for n in model.nodes if n.kind == "tensor" and n.tensor is not None}
        self.op = {}  # id(tensor) -> its op node
        made_by = {}  # op node -> output tensor
        for e in model.edges:
            if kind.get(e.src) == "op" and kind.get(e.dst) == "tensor":
                self.op[id(by_id[e.dst].tensor)] = e.src
                made_by[e.src] = by_id[e.dst].tensor
        self.copies = {}  # id(leaf) -> [ref node ids]: small copies of a shared leaf inside clusters
        self.feeds = {}  # ref node id -> the op nodes it feeds
        for e in model.edges:
            if kind.get(e.src) == "ref" and e.dst in made_by:
                self.feeds.setdefault(e.src, []).append(e.dst)
                for p in made_by[e.dst].op.inputs:
                    main = self.box.get(id(p))
                    if main is not None and by_id[main].label[:1] == by_id[e.src].label[:1]:
                        if e.src not in self.copies.get(id(p), []):
                            self.copies.setdefault(id(p), []).append(e.src)
                        break
        self.summaries = [(getattr(n, "summary_of", "") or "", n.id) for n in model.nodes if n.kind == "summary"]
        self.summary_at = {path: node_id for path, node_id in self.summaries if path}
        self.consumer_scopes = consumer_scopes
        self.runs = self._runs(model, root, constants) if self.summaries else {}

    def _runs(self, model, root, constants):
        """Node of each tensor when the graph was cut into runs "nodes a-b" of its node list (no scopes).

        The node list then is the walk order, an op's node just before its output's (as `viz.model.build`).
        """
        spans = [re.fullmatch(r"nodes (\d+)-(\d+)", path) for path, _ in self.summaries]
        if not spans or not all(spans) or model.clusters:
            return {}
        from .model import walk

        starts = sorted((int(m.group(1)), int(m.group(2)), node_id) for m, (_, node_id) in zip(spans, self.summaries))
        firsts = [a for a, _, _ in starts]
        out, k = {}, 0
        for t in walk(root):
            if not constants and t.op is None and not t.requires_grad and t is not root:
                continue  # not drawn
            k += t.op is not None
            j = bisect.bisect_right(firsts, k) - 1
            if j >= 0 and k <= starts[j][1]:
                out[id(t)] = starts[j][2]
            k += 1
        return out

    def scope_of(self, t) -> str:
        if t.op is not None:
            return t.op.scope
        parts = [s.split("/") if s else [] for s in self.consumer_scopes.get(id(t), [""])]
        common = parts[0]
        for p in parts[1:]:
            k = 0
            while k < min(len(common), len(p)) and common[k] == p[k]:
                k += 1
            common = common[:k]
        return "/".join(common)

    def main(self, t):
        """The node standing for `t`: its box, or the summary holding it, or None."""
        found = self.box.get(id(t))
        if found is not None:
            return found
        if id(t) in self.runs:
            return self.runs[id(t)]
        parts = self.scope_of(t).split("/")
        for k in range(len(parts), 0, -1):  # the deepest collapsed cluster holding its scope
            found = self.summary_at.get("/".join(parts[:k]))
            if found is not None:
                return found
        return None
