"""Grad mode, scope and anomaly mode: per thread and per async task, as PyTorch's grad mode is.

The three switches live in one immutable `Mode` held by a `contextvars.ContextVar`, so one
lookup per op reads them all, a new thread starts from the defaults (grad on, no scope, no
anomaly checks), and one thread's `no_grad()` never changes what another thread records.
"""

from __future__ import annotations

import contextlib
import contextvars


class Mode:
    """The switches read by every op: grad recording, the scope path, anomaly checks."""

    __slots__ = ("grad", "scope", "anomaly", "sites")

    def __init__(self, grad: bool = True, scope: str = "", anomaly: bool = False, sites: bool = False):
        self.grad = grad
        self.scope = scope  # "" at top level, "encoder/t=3" nested
        self.anomaly = anomaly
        self.sites = sites  # nodes remember the user's file:line that created them

    def but(self, **changes) -> Mode:
        """A copy with some switches changed."""
        new = Mode(self.grad, self.scope, self.anomaly, self.sites)
        for k, v in changes.items():
            setattr(new, k, v)
        return new


MODE: contextvars.ContextVar[Mode] = contextvars.ContextVar("tinygrad_attn_mode", default=Mode())  # noqa: B039 (never mutated)
current = MODE.get  # the Mode in force here: `current().grad`


@contextlib.contextmanager
def _switch(**changes):
    token = MODE.set(MODE.get().but(**changes))
    try:
        yield
    finally:
        MODE.reset(token)


def no_grad():
    """Context manager: ops inside record no graph (this thread or task only)."""
    return _switch(grad=False)


def enable_grad():
    """Context manager: ops inside record a graph again (e.g. inside `no_grad`)."""
    return _switch(grad=True)


def set_grad_enabled(enabled: bool):
    """Context manager: record a graph inside if `enabled`."""
    return _switch(grad=bool(enabled))


def is_grad_enabled() -> bool:
    """Whether ops currently record a graph (in this thread or task)."""
    return MODE.get().grad


def scope(name: str):
    """Context manager tagging every node created inside with `name` (nested: `a/b`)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"scope: name must be a non-empty string, got {name!r}")
    old = MODE.get().scope
    return _switch(scope=f"{old}/{name}" if old else name)


def detect_anomaly():
    """Context manager: the first op whose forward or backward makes NaN/Inf raises."""
    return _switch(anomaly=True, sites=True)


def record_sites():
    """Context manager: every node created inside remembers the user's file:line (`fn.site`)."""
    return _switch(sites=True)
