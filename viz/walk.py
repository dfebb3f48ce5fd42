"""The tensors behind a result, inputs before outputs: the one graph walk every part of viz uses."""

from __future__ import annotations


def walk(root):
    """Tensors reachable from `root` (a tensor or a list of them) through `t.op.inputs`, inputs first (iterative)."""
    order, seen = [], set()
    roots = list(root) if isinstance(root, (list, tuple)) else [root]
    stack = [(r, False) for r in reversed(roots)]
    while stack:
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        if t in seen:
            continue
        seen.add(t)
        stack.append((t, True))
        fn = t.op
        if fn is not None:
            for p in reversed(fn.inputs):  # reversed: the first input is expanded first
                if p not in seen:
                    stack.append((p, False))
    return order
