"""The explorer's page data: a backward record and its drawing (`viz.explore_model`) as plain JSON-able data.

Everything the page shows at step k comes from the record, never from the final `.grad`: a box
changes colour only at the steps where a gradient reaches it, so step k shows nothing of the
steps after it. Arrays are summarised (shape, min, max, mean, norm) with at most `max_values`
numbers each. The data goes on to `viz.explore_page`; nothing here calls back.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from . import colors
from .explore_numbers import fill_for, grad_text, local, matmul_terms, num, rule_of, summary
from .explore_time import attention_steps, time_key, time_strip

PREFIX = "tg-"  # DOM ids: PREFIX + the drawing's node or group id


def page_data(rec, drawing, max_values: int = 256) -> dict:
    """Everything the page shows, per step, per box and per group, from the record."""
    with np.errstate(all="ignore"):  # NaN/Inf gradients are shown, not warned about
        return _page_data(rec, drawing, max_values)


def _page_data(rec, d, max_values):
    steps = rec.steps
    cap_c = 16 if len(steps) > 300 else max_values  # contributions and running sums: fewer numbers on big graphs
    scale = _scale(rec)
    node_of = {id(n.tensor): n.index for n in d.nodes}
    arrivals = {}
    for s in steps:
        for i, p in enumerate(s.inputs):
            if s.contributions[i] is not None:
                arrivals.setdefault((id(p), s.run), []).append((s.index, i))
    rules, rindex = [], {}

    def rule(fn):
        cls = type(fn)
        if cls not in rindex:
            rindex[cls] = len(rules)
            rules.append(rule_of(cls))
        return rindex[cls]

    tensors = [_tensor(n, d, rule, max_values) for n in d.nodes]
    if not tensors[d.root]["named"]:
        tensors[d.root]["name"] = "L"  # the loss, as the lecture writes dL/d...
    running = _running(steps, arrivals, scale, cap_c)
    out_steps = [_step(s, node_of, rule, arrivals, running, cap_c, max_values) for s in steps]
    events = _events(steps, node_of, arrivals, running, scale)
    strip = time_strip(steps)
    bars = {}
    for gi, grp in enumerate(strip):  # each bar: its colour; each step: the bar of its time step
        for ii, item in enumerate(grp["items"]):
            fill, _, n = fill_for(steps[item["step"]].grad, scale)
            item.update(g=gi, i=ii, fill=fill, norm=num(n))
            bars[(grp["run"], grp.get("scope", ""), item["t"])] = [gi, ii]
    for s, out in zip(steps, out_steps):
        key = time_key(s.scope)
        if key is not None:
            out["tk"] = bars.get((s.run, *key))
    return {
        "title": d.heading,
        "scale": [num(scale[0]), num(scale[1])],
        "pending": {"fill": colors.PLAIN_FILL, "text": "#666666", "stroke": "#999999"},
        "tensors": tensors,
        "nodes": [{"t": n.index, "g": n.group, "k": n.kind, "ev": events.get(n.index, [])} for n in d.nodes],
        "groups": _groups(d, events, steps, node_of, cap_c),
        "edges": [list(e) for e in d.edges],
        "root": d.root,
        "steps": out_steps,
        "rules": rules,
        "strip": strip,
        "attention": [dict(a, w=summary(steps[a["step"]].tensor.data, max_values)) for a in attention_steps(steps)],
    }


def _scale(rec):
    """(lo, hi) in log10 ||grad|| over every gradient in the record: the colour scale."""
    logs = []
    for s in rec.steps:
        _, _, n = fill_for(s.grad, (0.0, 1.0))
        if n > 0 and math.isfinite(n):
            logs.append(math.log10(n))
    for lf in rec.leaves:
        _, _, n = fill_for(lf.grad, (0.0, 1.0))
        if n > 0 and math.isfinite(n):
            logs.append(math.log10(n))
    return colors.nice_scale(logs)


def _tensor(n, d, rule, cap):
    t, fn = n.tensor, n.tensor.op
    name = t.name or (fn.name if fn is not None else ("leaf" if t.requires_grad else "const"))
    where = " / ".join(d.groups[g].label for g in reversed(d.ancestors(n.index)))
    return {
        "name": str(name),
        "named": bool(t.name),
        "op": fn.name if fn is not None else None,
        "dtype": str(t.data.dtype),
        "value": summary(t.data, cap),
        "leaf": fn is None,
        "rg": bool(t.requires_grad),
        "rule": rule(fn) if fn is not None else None,
        "scope": where,
    }


def _running(steps, arrivals, scale, cap):
    """Per (tensor, run): after each contribution, (summary of the sum so far or None, fill, text colour, norm)."""
    out = {}
    for key, arr in arrivals.items():
        total, rows = None, []
        for si, i in arr:
            c = steps[si].contributions[i]
            total = c if total is None else total + c  # in recorded order: exactly the engine's sum
            fill, tc, n = fill_for(total, scale)
            rows.append((summary(total, cap) if len(arr) > 1 else None, fill, tc, n))
        out[key] = rows
    return out


def _step(s, node_of, rule, arrivals, running, cap_c, cap_g):
    """One step: its box, the gradient that arrived (and its parts), per input the contribution."""
    t = s.tensor
    before = [a for a in arrivals.get((id(t), s.run), []) if a[0] < s.index]
    ins = []
    for i, (p, c) in enumerate(zip(s.inputs, s.contributions)):
        entry = {"t": node_of.get(id(p)), "c": None}
        if c is not None:
            kind, dv, why = local(s.fn, s.grad, c, cap_c)
            key = (id(p), s.run)
            arr = arrivals[key]
            k = bisect.bisect_left(arr, (s.index, i))
            entry.update(c=summary(c, cap_c), kind=kind, d=dv, k=k + 1, n=len(arr))
            if why:
                entry["why"] = why
            if k:  # earlier contributions to the same input: the running sum
                entry["prev"] = [list(a) for a in arr[max(0, k - 3) : k]]
                entry["cum"] = running[key][k][0]
        ins.append(entry)
    out = {
        "id": PREFIX + f"n{node_of[id(t)]}",
        "op": s.op,
        "node": node_of[id(t)],
        "scope": s.scope,
        "run": s.run,
        "rule": rule(s.fn),
        "g": summary(s.grad, cap_g),
        "parts": [list(a) for a in before[-6:]],
        "nparts": len(before),
        "ins": ins,
    }
    if s.op == "MatMul" and len(s.inputs) == 2:
        out["mm"] = matmul_terms(s.inputs[0].data, s.inputs[1].data, s.grad, s.contributions)
    return out


def _events(steps, node_of, arrivals, running, scale) -> dict:
    """Node index -> [[step, fill, text colour, label, norm]]: when its colour changes."""
    events: dict[int, list] = {}
    for s in steps:  # a node made by an op is coloured when its summed gradient arrives (its own step)
        fill, tc, n = fill_for(s.grad, scale)
        events.setdefault(node_of[id(s.tensor)], []).append([s.index, fill, tc, grad_text(n), num(n)])
    for key, arr in arrivals.items():  # a leaf fills up, contribution by contribution
        t = steps[arr[0][0]].inputs[arr[0][1]]
        if t.op is not None or id(t) not in node_of:
            continue
        for k, ((si, _), (_, fill, tc, n)) in enumerate(zip(arr, running[key])):
            text = grad_text(n) + ("" if k == len(arr) - 1 else " so far")
            events.setdefault(node_of[id(t)], []).append([si, fill, tc, text, num(n)])
    for evs in events.values():
        evs.sort(key=lambda e: e[0])
    return events


# ---- groups: their colour, and what a closed one did in one step ------------------------------------
def _groups(d, events, steps, node_of, cap) -> list:
    """Per group: label, place, contents, the colour of its output, and per run its gradients in and out."""
    inside = [set() for _ in d.groups]
    for n in d.nodes:
        for g in d.ancestors(n.index):
            inside[g].add(n.index)
    runs = [{} for _ in d.groups]  # per group: run -> {first, last, ins: {node: total}}
    for s in steps:
        ni = node_of[id(s.tensor)]
        for g in d.ancestors(ni):
            r = runs[g].setdefault(s.run, {"first": s.index, "last": s.index, "ins": {}})
            r["last"] = s.index
            for p, c in zip(s.inputs, s.contributions):
                pi = node_of.get(id(p))
                if c is not None and pi is not None and pi not in inside[g]:
                    r["ins"][pi] = c if pi not in r["ins"] else r["ins"][pi] + c
    out = []
    for g in d.groups:
        main = max(g.outputs, key=lambda i: d.nodes[i].tensor.op.seq if d.nodes[i].tensor.op else -1, default=None)
        out.append(
            {
                "id": PREFIX + g.id,
                "label": g.label,
                "title": g.title,
                "kind": g.kind,
                "parent": g.parent,
                "open": g.open,
                "nodes": g.nodes,
                "children": g.children,
                "ins": g.inputs,
                "outs": g.outputs,
                "main": main,
                "size": len(inside[g.index]),
                "ev": events.get(main, []) if main is not None else [],
                "runs": [
                    {"first": r["first"], "last": r["last"], "ins": [[k, summary(v, cap)] for k, v in r["ins"].items()]}
                    for _, r in sorted(runs[g.index].items())
                ],
            }
        )
    return out


__all__ = ["page_data", "PREFIX"]
