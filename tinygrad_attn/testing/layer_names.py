"""Names for a hand-written layer's arrays, so a failure reads `dW[7, 9]` rather than `grads[0][7, 9]`.

A parameter's name comes from the layer itself: an attribute holding the same array
(`self.W = W`), else the book's own unpacking `W, b = self.params` in forward or backward. An
input's name is forward's argument name (`forward(self, x, h_prev)`). Unknown: None.
"""

from __future__ import annotations

import ast
import inspect
import textwrap


def param_names(layer, params):
    """One name (or None) per parameter array."""
    names = [None] * len(params)
    for attr, value in vars(layer).items() if hasattr(layer, "__dict__") else ():
        for i, p in enumerate(params):
            if value is p and names[i] is None and not attr.startswith("_"):
                names[i] = attr
    for method in ("forward", "backward"):
        for i, n in enumerate(_unpacked(getattr(type(layer), method, None), len(params))):
            if names[i] is None and n is not None:
                names[i] = n
    return names


def _unpacked(fn, count):
    """Names in `a, b, _ = self.params` inside fn's source (None for `_` and when there is no such line)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (TypeError, OSError, SyntaxError, IndentationError):
        return []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assign) or not _is_self_params(node.value):
            continue
        for target in node.targets:
            if isinstance(target, (ast.Tuple, ast.List)) and len(target.elts) == count:
                return [e.id if isinstance(e, ast.Name) and e.id != "_" else None for e in target.elts]
    return []


def _is_self_params(value):
    return (
        isinstance(value, ast.Attribute)
        and value.attr == "params"
        and isinstance(value.value, ast.Name)
        and value.value.id == "self"
    )


def input_names(forward, count):
    """forward's positional argument names for `count` inputs (None past a *args)."""
    try:
        sig = inspect.signature(forward)
    except (TypeError, ValueError):
        return [None] * count
    names = []
    for p in sig.parameters.values():
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
        else:
            break
    return (names + [None] * count)[:count]
