"""`trace(module)`: watch a PyTorch forward so its backward record has values and module scopes.

    with from_torch.trace(model):
        loss = model(x).pow(2).mean()
    rec = from_torch.record(loss)        # parameter names, values and scopes from the trace

A dispatch mode (`torch.utils._python_dispatch.TorchDispatchMode`) sees each op's outputs as they
are made; once the op returns through autograd (at the next op, or when the block ends) each output
that has a `grad_fn` leaves on that node's `metadata` its value (a numpy copy) and the scope it was
made in. The scope is the path of module names being run (each a full dotted name, as in
`named_modules()`: "encoder.layers.0/encoder.layers.0.self_attn" ...), with any `ta.scope("t=3")`
opened around the PyTorch code in between, so viz groups and collapses clusters by module name.
"""

from __future__ import annotations

import contextlib
import weakref

from .runtime import require_torch, to_numpy

KEY = "tinygrad_attn"  # the key of the trace's entry in a node's `metadata`


def _ta_scope() -> str:
    """The `ta.scope(...)` path in force here ("" at top level)."""
    from tinygrad_attn import mode

    return mode.current().scope


def _suffix(path: str, prefix: str) -> list[str]:
    """The parts of `path` below `prefix` ("a/b/c" below "a" -> ["b", "c"])."""
    if not path or path == prefix:
        return []
    if prefix and path.startswith(prefix + "/"):
        path = path[len(prefix) + 1 :]
    return path.split("/")


class Tracer:
    """What one `trace()` block saw: the module stack and the outputs waiting for their `grad_fn`."""

    def __init__(self, module=None):
        self.module = module
        self.module_ref = weakref.ref(module) if module is not None else None
        self.stack = []  # (ta.scope path when the module started, its dotted name)
        self.pending = []  # (tensor, scope) of the last op's outputs
        self.nodes = 0  # how many nodes got a value

    def scope(self) -> str:
        """The scope path of an op made now: module names and ta.scope names, outermost first."""
        now, parts, prev = _ta_scope(), [], ""
        for entry, name in self.stack:
            parts += _suffix(entry, prev) + [name]
            prev = entry
        return "/".join(parts + _suffix(now, prev))

    def made(self, outputs):
        """An op made `outputs` (a pytree of tensors): note them with the scope in force."""
        torch = require_torch()
        leaves = torch.utils._pytree.tree_leaves(outputs)
        here = None
        for t in leaves:
            if isinstance(t, torch.Tensor):
                here = self.scope() if here is None else here
                self.pending.append((t, here))

    def resolve(self):
        """The last op has returned through autograd: its outputs with a `grad_fn` tell their node."""
        pending, self.pending = self.pending, []
        for t, scope in pending:
            self._note(t, scope)
            if t._base is not None:  # a write into a view changed its base too (CopySlices)
                self._note(t._base, scope)

    def _note(self, t, scope):
        node = t.grad_fn
        if node is None:
            return
        info = node.metadata.get(KEY)
        if info is None:
            info = node.metadata[KEY] = {"scope": scope, "values": {}, "module": self.module_ref}
            self.nodes += 1
        if t.output_nr not in info["values"]:
            info["values"][t.output_nr] = to_numpy(t)

    def enter_module(self, name):
        self.resolve()
        self.stack.append((_ta_scope(), name))

    def exit_module(self, name):
        self.resolve()
        while self.stack:
            if self.stack.pop()[1] == name:
                break


_MODE = None


def _mode_class():
    """The dispatch mode class (made on first use: it subclasses a PyTorch class)."""
    global _MODE
    if _MODE is None:
        require_torch()
        from torch.utils._python_dispatch import TorchDispatchMode

        class _Watch(TorchDispatchMode):
            def __init__(self, tracer):
                super().__init__()
                self.tracer = tracer

            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                self.tracer.resolve()
                out = func(*args, **(kwargs or {}))
                self.tracer.made(out)
                return out

        _MODE = _Watch
    return _MODE


@contextlib.contextmanager
def trace(module=None):
    """Context manager around a PyTorch forward: record values, and scopes per submodule of `module`.

    Yields the `Tracer`. `from_torch.record(loss)` of a loss made inside then has every traced
    node's value and scope, and the parameter names of `module` (`named_parameters()`). Keeps
    a numpy copy of every output made inside (about the activations' memory once more).
    """
    torch = require_torch()
    if module is not None and not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch.trace: expected a torch.nn.Module (or nothing), got {type(module).__name__}")
    tracer = Tracer(module)
    handles = []
    if module is not None:
        for name, m in module.named_modules():
            if not name:
                continue  # the module traced is the top level: its ops get no scope of their own
            handles.append(m.register_forward_pre_hook(lambda _m, _a, name=name: tracer.enter_module(name)))
            handles.append(
                m.register_forward_hook(lambda _m, _a, _o, name=name: tracer.exit_module(name), always_call=True)
            )
    try:
        with _mode_class()(tracer):
            yield tracer
    finally:
        tracer.resolve()
        for h in handles:
            h.remove()
