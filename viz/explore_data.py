"""The explorer's numbers: a backward record and a drawing turned into plain JSON-able data.

Everything the page shows at step k is computed here from the record (`ta.record_backward()`),
never from the final `.grad`: a node's colour and label change only at the steps where a
gradient reaches it, so the page can show step k without anything of steps after k.
Arrays are summarised (shape, min, max, mean, norm) with at most `max_values` numbers each.
"""

from __future__ import annotations

import bisect
import inspect
import math
import textwrap

import numpy as np

from . import colors
from .explore_map import Elements, attention_steps, dom, time_key, time_strip
from .grads import is_elementwise
from .model import fmt


def nums(a, cap=None) -> list:
    """The first `cap` values of `a` (flattened) rounded to 7 significant digits; NaN/Inf as strings for JS."""
    flat = np.asarray(a, dtype=np.float64).reshape(-1)
    if cap is not None:
        flat = flat[:cap]
    if flat.size <= 8:  # few numbers: plain Python is faster than a dozen numpy calls
        return [_json_float(float(f"{x:.7g}")) for x in flat.tolist()]
    finite = np.isfinite(flat)
    with np.errstate(all="ignore"):
        k = 6 - np.floor(np.log10(np.abs(np.where(finite & (flat != 0), flat, 1.0))))
        ok = finite & (np.abs(k) <= 22)  # 10**k is exact: the quotient is the double nearest the decimal
        up = np.where(k >= 0, 10.0 ** np.clip(k, 0, 22), 1.0)
        down = np.where(k < 0, 10.0 ** np.clip(-k, 0, 22), 1.0)
        rounded = np.round(flat * up / down) * down / up
    out = np.where(ok, rounded, flat).tolist()
    if not finite.all():
        out = [_json_float(x) for x in out]
    return out


def _json_float(x: float):
    return x if math.isfinite(x) else ("NaN" if x != x else ("Infinity" if x > 0 else "-Infinity"))


def num(x: float):
    """One number for JSON (7 significant digits; NaN/Inf as strings)."""
    return _json_float(float(f"{float(x):.7g}"))


def summary(a, cap: int) -> dict:
    """{s: shape, n: size, min, max, mean, norm, v: first `cap` values} of an array."""
    a = np.asarray(a)
    flat = a.astype(np.float64, copy=False).reshape(-1)
    out = {"s": list(a.shape), "n": int(flat.size), "v": nums(flat, cap)}
    if flat.size:  # (page_data silences numpy's warnings once for all arrays: errstate costs 30 us a call)
        lo, hi, mean, size = nums([flat.min(), flat.max(), flat.mean(), norm(flat)])
        out.update(min=lo, max=hi, mean=mean, norm=size)
    return out


def norm(a) -> float:
    """||a|| without underflow: scaled by max |a| (a gradient of 1e-170 squares to 0 in float64)."""
    flat = np.asarray(a, dtype=np.float64).reshape(-1)
    if flat.size == 0:
        return 0.0
    square = float(np.dot(flat, flat))
    if 1e-300 < square < math.inf:  # nothing underflowed or overflowed
        return math.sqrt(square)
    top = float(np.max(np.abs(flat)))
    if top == 0.0 or not math.isfinite(top):
        return top
    scaled = flat / top
    return top * math.sqrt(float(np.dot(scaled, scaled)))


def fill_for(a, scale) -> tuple[str, str, float]:
    """(fill, text colour, norm) of a gradient on the colour scale (lo, hi) in log10 units."""
    n = norm(a)
    if math.isnan(n) or math.isinf(n):
        fill = colors.BAD_FILL
    elif n == 0.0:
        fill = colors.ZERO_FILL
    else:
        fill = colors.grad_colour(math.log10(n), *scale)
    return fill, colors.text_colour(fill), n


def grad_text(n: float) -> str:
    if math.isnan(n) or math.isinf(n):
        return "|grad| NaN" if math.isnan(n) else "|grad| Inf"
    return "|grad| = 0" if n == 0.0 else f"|grad| {fmt(n)}"


# ---- the backward rule of an op, as source text ----------------------------------------------
def rule_of(cls) -> dict:
    """{name, doc, src}: the op's docstring and the source of its backward (and vjp, if it has its own)."""
    doc = inspect.getdoc(cls) or ""
    parts = []
    for meth in ("backward", "vjp"):
        fn = cls.__dict__.get(meth)
        if fn is None:
            continue
        try:
            parts.append(inspect.getsource(fn))
        except (OSError, TypeError):
            parts.append(f"# source of {cls.__name__}.{meth} is not available (defined interactively?)\n")
    if not parts:
        for base in cls.__mro__[1:]:  # inherited rule: show where it comes from
            if "backward" in base.__dict__:
                parts.append(f"# {cls.__name__} inherits backward from {base.__name__}\n")
                break
    return {"name": cls.__name__, "doc": doc, "src": "\n\n".join(textwrap.dedent(p).strip() for p in parts)}


# ---- the local derivative of one input ------------------------------------------------------
def local(fn, g, c, cap):
    """(kind, local derivative summary or None) of contribution `c` to one input given incoming `g`.

    "scalar": one number in, one out, so c / g is the derivative; "elementwise": an elementwise
    op with an input of the output's shape, so c / g is the diagonal of the Jacobian; "reduced":
    elementwise but the input was broadcast (its gradient is summed back to its shape);
    "other": only norms (and the gain ||c|| / ||g||) describe the step.
    """
    g = np.asarray(g, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    elementwise = is_elementwise(fn)
    if g.size == 1 and c.size == 1:
        kind = "scalar"
    elif elementwise and c.shape == g.shape:
        kind = "elementwise"
    else:
        return ("reduced" if elementwise else "other"), None
    d = np.where(g != 0, c / np.where(g != 0, g, 1.0), np.nan)  # NaN: not readable where g = 0
    return kind, summary(d.reshape(c.shape), cap)


# ---- the data of the page -----------------------------------------------------------------------
def page_data(rec, graph, root, max_values: int = 256, title: str = "", constants: bool = True) -> dict:
    """Everything the page shows, per step and per drawn node, from the record (see module docstring).

    graph: `viz.draw(root, constants=constants)`, the picture the page shows.
    """
    with np.errstate(all="ignore"):  # NaN/Inf gradients are shown, not warned about
        return _page_data(rec, graph, root, max_values, title, constants)


def _page_data(rec, graph, root, max_values, title, constants):
    steps = rec.steps
    big = len(steps) > 300
    cap_c = 16 if big else max_values  # contributions and running sums: fewer numbers on big graphs
    scale = tuple(graph.scale)
    consumer_scopes, arrivals = {}, {}
    for s in steps:
        for i, p in enumerate(s.inputs):
            consumer_scopes.setdefault(id(p), []).append(s.scope)
            if s.contributions[i] is not None:
                arrivals.setdefault((id(p), s.run), []).append((s.index, i))
    elements = Elements(graph, root, consumer_scopes, constants)

    tensors, tobjs, tindex = [], [], {}
    rules, rindex = [], {}

    def rule(fn):
        cls = type(fn)
        if cls not in rindex:
            rindex[cls] = len(rules)
            rules.append(rule_of(cls))
        return rindex[cls]

    def tensor(t):
        if id(t) not in tindex:
            tindex[id(t)] = len(tensors)
            tobjs.append(t)
            fn = t.op
            name = t.name or (f"{fn.name} output" if fn is not None else ("leaf" if t.requires_grad else "const"))
            tensors.append(
                {
                    "name": str(name),
                    "dtype": str(t.data.dtype),
                    "value": summary(t.data, max_values),
                    "leaf": fn is None,
                    "rg": bool(t.requires_grad),
                    "rule": rule(fn) if fn is not None else None,
                    "scope": elements.scope_of(t),
                }
            )
        return tindex[id(t)]

    for n in graph.model.nodes:
        if n.kind == "tensor" and n.tensor is not None:
            tensor(n.tensor)
    running = _running(steps, arrivals, scale, cap_c)
    out_steps = [_step(s, tensor, rule, elements, arrivals, running, cap_c, max_values) for s in steps]
    events: dict[int, list] = {}  # tensor index -> [[step, fill, text colour, label, norm]]
    for s in steps:  # a non-leaf tensor is coloured when its summed gradient arrives (its own step)
        fill, tc, n = fill_for(s.grad, scale)
        events.setdefault(tensor(s.tensor), []).append([s.index, fill, tc, grad_text(n), num(n)])
    for key, arr in arrivals.items():  # a leaf fills up, contribution by contribution
        t = steps[arr[0][0]].inputs[arr[0][1]]
        if t.op is not None:
            continue
        for k, ((si, _), (_, fill, tc, n)) in enumerate(zip(arr, running[key])):
            text = grad_text(n) + ("" if k == len(arr) - 1 else " so far")
            events.setdefault(tensor(t), []).append([si, fill, tc, text, num(n)])
    for evs in events.values():
        evs.sort(key=lambda e: e[0])
    strip = time_strip(steps)
    bars = {}  # (run, group, t) -> [group index, item index]
    for gi, grp in enumerate(strip):  # each bar: its colour; each step: the bar of its time step
        for ii, item in enumerate(grp["items"]):
            fill, _, n = fill_for(steps[item["step"]].grad, scale)
            item.update(g=gi, i=ii, fill=fill, norm=num(n))
            bars[(grp["run"], grp.get("scope", ""), item["t"])] = [gi, ii]
    for s, d in zip(steps, out_steps):
        key = time_key(s.scope)
        if key is not None:
            d["tk"] = bars.get((s.run, *key))
    return {
        "title": title,
        "scale": [num(scale[0]), num(scale[1])],
        "pending": {"fill": colors.PLAIN_FILL, "text": "#666666", "stroke": "#999999"},
        "tensors": tensors,
        "steps": out_steps,
        "nodes": {dom(k): v for k, v in _nodes(graph, elements, tobjs, tindex, events, steps, scale).items()},
        "rules": rules,
        "strip": strip,
        "attention": [dict(a, w=summary(steps[a["step"]].tensor.data, max_values)) for a in attention_steps(steps)],
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


def _step(s, tensor, rule, elements, arrivals, running, cap_c, cap_g):
    """One step: where it is drawn, the gradient that arrived (and its parts), and per input the contribution."""
    t = s.tensor
    before = [a for a in arrivals.get((id(t), s.run), []) if a[0] < s.index]
    ins = []
    for i, (p, c) in enumerate(zip(s.inputs, s.contributions)):
        entry = {"t": tensor(p), "c": None}
        if c is not None:
            kind, d = local(s.fn, s.grad, c, cap_c)
            key = (id(p), s.run)
            arr = arrivals[key]
            k = bisect.bisect_left(arr, (s.index, i))
            entry.update(c=summary(c, cap_c), kind=kind, d=d, k=k + 1, n=len(arr))
            if k:  # earlier contributions to the same input: the running sum
                entry["prev"] = [list(a) for a in arr[max(0, k - 3) : k]]
                entry["cum"] = running[key][k][0]
        ins.append(entry)
    return {
        "id": dom(elements.main(t)),
        "op": s.op,
        "opId": dom(elements.op.get(id(t))),
        "scope": s.scope,
        "run": s.run,
        "t": tensor(t),
        "rule": rule(s.fn),
        "g": summary(s.grad, cap_g),
        "parts": [list(a) for a in before[-6:]],
        "nparts": len(before),
        "ins": ins,
    }


def _nodes(graph, elements, tobjs, tindex, events, steps, scale) -> dict:
    """Per drawn node: its kind, the tensors it shows and its colour events in step order."""
    out = {}
    for n in graph.model.nodes:
        if n.kind == "tensor" and n.tensor is not None:
            ti = tindex[id(n.tensor)]
            out[n.id] = {"k": "tensor", "t": [ti], "ev": events.get(ti, [])}
    for s in steps:
        op_id = elements.op.get(id(s.tensor))
        if op_id is not None:
            out.setdefault(op_id, {"k": "op", "t": [tindex[id(s.tensor)]], "s": []})["s"].append(s.index)
    for leaf_key, refs in elements.copies.items():  # a copy fills up from the step of its own op on
        ti = tindex.get(leaf_key)
        for r in refs:
            ops = [out[o]["s"] for o in elements.feeds.get(r, []) if o in out]
            first = min((min(x) for x in ops), default=0)
            ev = [e for e in events.get(ti, []) if e[0] >= first]
            out[r] = {"k": "ref", "t": [ti] if ti is not None else [], "ev": ev}
    members: dict[str, list[int]] = {}
    for ti, t in enumerate(tobjs):
        if id(t) not in elements.box:
            holder = elements.main(t)
            if holder is not None and holder not in out:
                members.setdefault(holder, []).append(ti)
    for holder, tis in members.items():
        out[holder] = {"k": "summary", "t": tis, "ev": _summary_events(tis, events, scale)}
    return out


def _summary_events(tis, events, scale):
    """A summary shows the largest |grad| among its tensors so far (NaN/Inf if any is)."""
    merged = sorted((e[0], ti, e[4]) for ti in tis for e in events.get(ti, []))
    latest, out = {}, []
    for step, ti, n in merged:
        latest[ti] = float(n) if not isinstance(n, str) else float(n.replace("Infinity", "inf"))
        vals = list(latest.values())
        bad = any(math.isnan(v) or math.isinf(v) for v in vals)
        top = math.nan if bad else max(vals)
        if bad:
            fill = colors.BAD_FILL
        elif top == 0.0:
            fill = colors.ZERO_FILL
        else:
            fill = colors.grad_colour(math.log10(top), *scale)
        text = "max |grad| NaN/Inf" if bad else f"max |grad| {fmt(top)}"
        ev = [step, fill, colors.text_colour(fill), text, num(top)]
        if out and out[-1][0] == step:
            out[-1] = ev
        else:
            out.append(ev)
    return out
