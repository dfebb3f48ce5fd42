"""Composite calls: which call of `F` (cross_entropy, layer_norm) or of a Module made a node.

A call is the range of creation numbers (`fn.seq`) of the nodes made inside it, noted on its
outputs; the explorer draws it as one box. Outside grad mode nothing is noted.
"""

from __future__ import annotations

import functools
import weakref

from .function import next_seq
from .mode import current as _mode


class Call:
    """One composite call (a function of `F` such as cross_entropy, a Module's forward).

    The nodes made inside it are those whose creation number `fn.seq` lies in (first, last].
    `name` is where the call sits (a Module's dotted path, "" for a function or the root module).
    """

    __slots__ = ("label", "name", "kind", "first", "last")

    def __init__(self, label: str, name: str, kind: str, first: int, last: int):
        self.label, self.name, self.kind, self.first, self.last = label, name, kind, first, last

    def __repr__(self):
        where = f"{self.name}: " if self.name else ""
        return f"Call({where}{self.label}, nodes {self.first + 1}..{self.last})"


_CALLS: dict = {}  # id(output tensor) -> (weak reference to it, (Call, ...) innermost first)


def _forget(key, ref):
    if _CALLS.get(key, (None,))[0] is ref:  # (a newer tensor may have taken the same id)
        del _CALLS[key]


def note_call(outputs, call: Call):
    """Remember `call` on each tensor of `outputs` (a tensor, or tuples/lists of them) made inside it.

    Kept by id with a weak reference (a WeakKeyDictionary would compare tensors with ==, which is
    elementwise); the entry goes when the tensor does.
    """
    stack = [outputs]
    while stack:
        x = stack.pop()
        if isinstance(x, (tuple, list)):
            stack.extend(x)
            continue
        fn = getattr(x, "_ctx", None)
        if fn is None or not call.first < fn.seq <= call.last:
            continue
        key = id(x)
        got = _CALLS.get(key)
        if got is not None and got[0]() is x:
            _CALLS[key] = (got[0], got[1] + (call,))
        else:
            _CALLS[key] = (weakref.ref(x, functools.partial(_forget, key)), (call,))


def calls_of(tensor) -> tuple:
    """The calls whose output `tensor` is, innermost first (empty when none was noted)."""
    got = _CALLS.get(id(tensor))
    return got[1] if got is not None and got[0]() is tensor else ()


def run_call(label: str, name: str, kind: str, fn, *args, **kwargs):
    """fn(*args, **kwargs), noting the nodes it makes as one `Call` on its output (in grad mode)."""
    if not _mode().grad:
        return fn(*args, **kwargs)
    first = next_seq()
    out = fn(*args, **kwargs)
    note_call(out, Call(label, name, kind, first, next_seq()))
    return out


def composite(fn):
    """Decorator: a function composed of several ops, shown by the explorer as one call named after it."""
    label = fn.__name__

    @functools.wraps(fn)
    def call(*args, **kwargs):
        return run_call(label, "", "function", fn, *args, **kwargs)

    return call
