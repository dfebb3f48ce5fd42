"""Time steps and attention weights in a backward record: the explorer's strip of ||dL/dh_t||, its attention panel."""

from __future__ import annotations

import re

STEP_SCOPE = re.compile(r"^t=(\d+)$")


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
