"""Stand-ins that let a PyTorch backward graph be read as ours: a tensor, an op, a record.

viz and the explorer read `t.name, t.data, t.shape, t.requires_grad, t.op` of a tensor and
`fn.name, fn.inputs, fn.scope, fn.seq` of an op. `TorchTensor` carries those for one output of a
PyTorch autograd node (a `grad_fn`) or one leaf, with its value as a numpy array (NaN where the
forward was not traced); `TorchOp` stands for the node itself, one class per PyTorch node type,
named as PyTorch names it without "Backward0" ("Tanh", "Mm", "Addmm").
"""

from __future__ import annotations

import re

import numpy as np

from tinygrad_attn.record import Record

# PyTorch nodes whose Jacobian is diagonal where an input has the output's shape: viz labels their
# edges with the local derivative itself (as ours in tinygrad_attn.ops.elementwise), not a gain.
ELEMENTWISE = frozenset(
    "Abs Add Sub Mul Div Neg Pow Exp Exp2 Expm1 Log Log2 Log10 Log1p Sqrt Rsqrt Reciprocal Tanh Sigmoid Relu "
    "Gelu Silu Mish Elu Selu Celu LeakyRelu Hardtanh Hardsigmoid Hardswish Softplus Threshold Clamp ClampMin "
    "ClampMax Sin Cos Tan Sinh Cosh Atan Asin Acos Erf Where Clone ToCopy Lerp Maximum Minimum Sign Square "
    "Logit Sgn Frac Trunc Round Floor Ceil Addcmul Addcdiv".split()
)

_SUFFIX = re.compile(r"Backward\d*$")


def op_name(torch_name: str) -> str:
    """PyTorch's node name without namespace and "Backward0": "TanhBackward0" -> "Tanh"."""
    name = torch_name.rsplit("::", 1)[-1]
    return _SUFFIX.sub("", name) or name


def fused_kind(name: str) -> str | None:
    """What a node stands for when PyTorch runs a whole layer as one node (its inside hidden from hooks)."""
    low = name.lower()
    if "rnn" in low or "lstm" in low or "gru" in low:
        return "a whole recurrent layer (every time step and gate of an nn.RNN/LSTM/GRU)"
    if "attention" in low or "scaleddotproduct" in low:
        return "a whole attention (scores, softmax, dropout and the weighted sum of values)"
    if name.startswith("Native") and name.endswith("Norm"):
        return "a whole normalisation (mean, variance, scale and shift)"
    return None


class TorchOp:
    """One PyTorch autograd node, read like our `Function`: name, inputs, scope, creation order."""

    __slots__ = ("inputs", "scope", "seq", "node", "output", "site", "saved", "params", "freed", "__weakref__")

    elementwise = False
    torch_name = ""
    fused = None  # what a fused node stands for (see `fused_kind`), or None

    def __init__(self, node, scope: str = "", seq: int = 0):
        self.inputs = []  # TorchTensor per input PyTorch passes a gradient to (constants left out)
        self.scope = scope
        self.seq = seq  # PyTorch's sequence number: creation order in the forward
        self.node = node  # the PyTorch node (None for the pickers of a multi-output node)
        self.output = None  # the TorchTensor it made (for a multi-output node: all outputs packed)
        self.site = None
        self.saved = None
        self.params = {}
        self.freed = False

    @property
    def name(self) -> str:
        return type(self).__name__

    def __repr__(self):
        return f"TorchOp({self.name}, {len(self.inputs)} inputs, scope={self.scope!r})"


_CLASSES: dict[str, type] = {}


def op_class(torch_name: str) -> type:
    """The `TorchOp` subclass for one PyTorch node type (made once), named by `op_name`."""
    cls = _CLASSES.get(torch_name)
    if cls is None:
        name = op_name(torch_name)
        fused = fused_kind(name)
        doc = f"PyTorch's {torch_name} node: its backward rule is PyTorch's own (C++); the record holds what it "
        doc += "received and what it passed to each input."
        if fused:
            doc = f"Fused by PyTorch: {fused} is this one node. " + doc
        attrs = {"__doc__": doc, "__slots__": (), "__module__": __name__, "torch_name": torch_name}
        attrs.update(elementwise=name in ELEMENTWISE, fused=fused)
        cls = _CLASSES[torch_name] = type(name, (TorchOp,), attrs)
    return cls


class Output(TorchOp):
    """Picks output k of a PyTorch node that made several (LSTM, split, chunk): the node's outputs are packed
    side by side into one tensor, and each picker passes its output's gradient back into its own slice."""

    __slots__ = ("index",)

    def __init__(self, node, index: int, scope: str = "", seq: int = 0):
        super().__init__(node, scope, seq)
        self.index = index


class TorchTensor:
    """One output of a PyTorch node (or a leaf), read like our `Tensor`: name, value, shape, the op that made it."""

    __slots__ = ("data", "name", "requires_grad", "_ctx", "known", "__weakref__")

    def __init__(self, data: np.ndarray, op=None, name: str | None = None, known: bool = True):
        self.data = data  # ndarray: the value (NaN where the forward was not traced: `known` is False)
        self._ctx = op
        self.name = name
        self.requires_grad = True  # everything PyTorch passes a gradient to requires one
        self.known = known

    @property
    def op(self):
        """The TorchOp that made this tensor (None for a leaf)."""
        return self._ctx

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    grad = None  # the gradients are in the record (`rec.grad_of(t)`), never on the stand-in

    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    def numpy(self) -> np.ndarray:
        return self.data

    def __repr__(self):
        made = f", op={self._ctx.name}" if self._ctx is not None else ""
        return f"TorchTensor({self.name or 'unnamed'}, shape={self.shape}{made})"


class TorchRecord(Record):
    """The `Record` of one PyTorch backward: steps, leaves and roots are the stand-ins above.

    `grad_of`, `contributions_to` and `tensor_for` accept the PyTorch tensors themselves.
    """

    def __init__(self):
        super().__init__(accumulate=False)
        self.by_key = {}  # (node, output number) or ("leaf", id(tensor)) -> TorchTensor
        self.torch_leaves = {}  # id -> the PyTorch leaf tensor (kept alive so its id stays its own)

    def tensor_for(self, t):
        """The stand-in of a PyTorch tensor in this record (a stand-in passes through), or None."""
        if isinstance(t, TorchTensor):
            return t
        if getattr(t, "grad_fn", None) is None:
            return self.by_key.get(("leaf", id(t))) if id(t) in self.torch_leaves else None
        return self.by_key.get((t.grad_fn, t.output_nr))

    def grad_of(self, tensor, run: int | None = None):
        """The gradient `tensor` (a PyTorch tensor or its stand-in) received, as an ndarray, or None."""
        t = self.tensor_for(tensor)
        return None if t is None else super().grad_of(t, run)

    def contributions_to(self, tensor, run: int | None = None):
        """[(step, input index, ndarray)] of every contribution that reached `tensor` (PyTorch or stand-in)."""
        t = self.tensor_for(tensor)
        return [] if t is None else super().contributions_to(t, run)

    def __repr__(self):
        return f"TorchRecord({len(self.steps)} steps, {len(self.leaves)} leaf gradients)"
