"""Module and Parameter: an ordered registry of parameters and child modules.

Parameters and children are kept in insertion-ordered dicts (never sets), so `parameters()`,
state dicts, optimizer state and drawings come out in the same order on every run. Each
parameter's `.name` is its dotted path from the root module (`encoder.rnn.W_h`), kept current
whenever a parameter or module is attached, in any order, so the graph renderer labels it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from ..calls import run_call
from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor that always requires grad and is registered by the Module holding it."""

    __slots__ = ()

    def __init__(self, data, name=None, dtype=None):
        super().__init__(data, requires_grad=True, name=name, dtype=dtype)


class Module:
    """Base class of every layer: attributes that are Parameters or Modules are registered in order."""

    def __init__(self):
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_prefix", "")  # dotted path from the root, kept current on attach

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning {name!r}")
        params, modules = self._parameters, self._modules
        if isinstance(value, Parameter) or (name in params and isinstance(value, Tensor)):
            # A plain Tensor may replace a registered parameter (functional use, e.g. gradcheck).
            modules.pop(name, None)
            params[name] = value
            value.name = self._dotted(name)
        elif isinstance(value, Module):
            params.pop(name, None)
            modules[name] = value
            value._set_prefix(self._dotted(name))
        elif name in params or name in modules:
            if value is not None:
                raise TypeError(
                    f"{type(self).__name__}.{name}: cannot replace a registered "
                    f"{'parameter' if name in params else 'module'} with {type(value).__name__}"
                )
            params.pop(name, None)
            modules.pop(name, None)
        object.__setattr__(self, name, value)

    def _dotted(self, name: str) -> str:
        return f"{self._prefix}.{name}" if self._prefix else name

    def _set_prefix(self, prefix: str):
        """Record this module's dotted path and rename its parameters and descendants to match."""
        object.__setattr__(self, "_prefix", prefix)
        for name, p in self._parameters.items():
            p.name = self._dotted(name)
        for name, m in self._modules.items():
            m._set_prefix(self._dotted(name))

    def __delattr__(self, name):
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def __call__(self, *args, **kwargs):
        """forward(*args, **kwargs), noted as one call on its outputs (the explorer's box for this module)."""
        return run_call(type(self).__name__, self._prefix, "module", self.forward, *args, **kwargs)

    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} has no forward")

    # ---- traversal ----------------------------------------------------------------------
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module and every descendant, depth first, in order."""
        yield prefix, self
        for name, m in self._modules.items():
            yield from m.named_modules(f"{prefix}.{name}" if prefix else name)

    def children(self) -> Iterator[Module]:
        """The direct child modules, in registration order."""
        return iter(self._modules.values())

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """(dotted name, parameter) for every parameter, each shared one once, in order."""
        seen = {}  # id -> True: a parameter shared by two modules is listed once
        for mod_name, m in self.named_modules(prefix):
            for name, p in m._parameters.items():
                if id(p) in seen:
                    continue
                seen[id(p)] = True
                yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self) -> list[Tensor]:
        """Every parameter once, in registration order."""
        return [p for _, p in self.named_parameters()]

    def num_parameters(self) -> int:
        """Total number of scalar parameters."""
        return sum(p.size for p in self.parameters())

    def zero_grad(self):
        """Drop every parameter's gradient (set `.grad` to None)."""
        for p in self.parameters():
            p.grad = None

    def train(self, mode: bool = True):
        """Set training mode here and in every descendant (dropout is active); returns self."""
        for _, m in self.named_modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        """Set evaluation mode here and in every descendant (dropout is off); returns self."""
        return self.train(False)

    # ---- state ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """{dotted name: copy of the parameter's array}, in registration order."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict, strict: bool = True):
        """Copy arrays into the parameters (dtype kept); with strict, every problem is listed in one error."""
        own = dict(self.named_parameters())
        arrays = {k: np.asarray(v.data if isinstance(v, Tensor) else v) for k, v in state.items()}
        missing = [k for k in own if k not in arrays]
        unexpected = [k for k in arrays if k not in own]
        wrong = [
            f"{k}: checkpoint {arrays[k].shape} vs model {own[k].shape}"
            for k in own
            if k in arrays and arrays[k].shape != own[k].shape
        ]
        if wrong or (strict and (missing or unexpected)):
            lines = [f"load_state_dict: state does not fit {type(self).__name__}"]
            if missing and strict:
                lines.append(f"  missing keys: {', '.join(missing)}")
            if unexpected and strict:
                lines.append(f"  unexpected keys: {', '.join(unexpected)}")
            if wrong:
                lines.append(f"  wrong shapes: {'; '.join(wrong)}")
            raise ValueError("\n".join(lines))
        for k, p in own.items():
            if k in arrays:
                p.data = arrays[k].astype(p.data.dtype, copy=True)
        return self

    def to(self, dtype):
        """Convert every parameter to `dtype` (e.g. np.float64 for gradient checks); returns self."""
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            p.grad = None
        return self

    # ---- display ------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not self._modules:
            return head + ")"
        body = "\n".join(f"  ({n}): " + repr(m).replace("\n", "\n  ") for n, m in self._modules.items())
        return f"{head}\n{body}\n)"


class ModuleList(Module):
    """A list of modules registered as children `0`, `1`, ... (no forward of its own)."""

    def __init__(self, modules: Iterable[Module] = ()):
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, module: Module):
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList.append: expected a Module, got {type(module).__name__}")
        setattr(self, str(len(self._modules)), module)
        return self

    def __getitem__(self, i):
        return list(self._modules.values())[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class Sequential(ModuleList):
    """Modules applied one after another: forward(x) = m_k(...m_1(x))."""

    def __init__(self, *modules: Module):
        super().__init__(modules)

    def forward(self, x):
        for m in self:
            x = m(x)
        return x
