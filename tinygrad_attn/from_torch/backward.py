"""`record(loss)`: run PyTorch's backward from a scalar with a hook on every node, into our `Record`.

Before the run, one walk over `loss.grad_fn` makes the stand-ins (`TorchOp` per node,
`TorchTensor` per output and leaf). Each node's hook (`node.register_hook(fn(grad_inputs,
grad_outputs))`) runs in PyTorch's own order and appends a step: the contribution to each input
(`grad_inputs`, copied at once: PyTorch may add later gradients into the same buffer in place) and
the gradient that arrived at the node, the sum of the contributions that reached it in PyTorch's
order -- PyTorch's own sum bit for bit, and, as in our record, what arrived before any hook on the
tensor (the post-hook's `grad_outputs` are after them). The run is
`torch.autograd.grad(loss, leaves, retain_graph=True)`: no leaf's `.grad` changes, and the loss
can still be trained on. A node that made several outputs (an LSTM layer, `chunk`) gets one
`Output` picker per output in front of it, its outputs packed side by side, so every
contribution still sums exactly to the gradient its tensor received.
"""

from __future__ import annotations

import gc
import threading

import numpy as np

from tinygrad_attn.record import Leaf, Step

from .adapters import Output, TorchRecord, TorchTensor, op_class
from .runtime import is_torch_tensor, require_torch, to_numpy
from .tracing import KEY


def _nodes(root):
    """Every node reachable from `root` through `next_functions`, in the order first met (iterative)."""
    order, seen, stack = [], {root}, [root]
    while stack:
        node = stack.pop()
        order.append(node)
        for nf, _ in reversed(node.next_functions):
            if nf is not None and nf not in seen:
                seen.add(nf)
                stack.append(nf)
    return order


def _is_leaf_node(node) -> bool:
    return hasattr(node, "variable")  # AccumulateGrad: the node that would add a leaf's .grad


def _shapes(node):
    """The shape of each output of a node (PyTorch's metadata of the gradients it expects)."""
    return [tuple(m.shape) for m in node._input_metadata]


class _Builder:
    """The stand-ins of one graph, and the hook that turns each node's run into steps."""

    def __init__(self, loss, names: dict, rec: TorchRecord):
        self.rec = rec
        self.lock = threading.Lock()
        self.ops = {}  # node -> TorchOp
        self.pickers = {}  # node -> [(Output op, its TorchTensor, flat slice)] of a multi-output node
        self.slots = {}  # node -> positions in next_functions of the inputs it passes gradients to
        self.leaves = []  # (PyTorch leaf tensor, its stand-in)
        self.leaf_ids = set()  # id of each leaf's stand-in
        self.arrived = {}  # id(stand-in) -> the contributions that reached it so far, summed in order
        self.nodes = _nodes(loss.grad_fn)
        module = None
        for node in self.nodes:
            info = node.metadata.get(KEY) if not _is_leaf_node(node) else None
            if info is not None and info["module"] is not None:
                module = info["module"]()
                break
        self.names = dict(names)
        if module is not None:
            self.names = {id(p): n for n, p in module.named_parameters()} | self.names
        for node in self.nodes:
            if not _is_leaf_node(node):
                self._make(node)
        for node in self.nodes:
            if not _is_leaf_node(node):
                self._link(node)
        root = self.rec.by_key[(loss.grad_fn, loss.output_nr)]
        root.data, root.known = to_numpy(loss), True
        if root.name is None:
            root.name = "loss"

    def _name_of(self, key):
        return self.names.get(key)

    def _make(self, node):
        info = node.metadata.get(KEY) or {}
        scope, values = info.get("scope", ""), info.get("values", {})
        seq = node._sequence_nr()
        op = self.ops[node] = op_class(node.name())(node, scope, seq)
        shapes = _shapes(node)
        outs = []
        for k, shape in enumerate(shapes):
            v = values.get(k)
            known = v is not None and v.shape == shape
            data = v if known else np.full(shape, np.nan)
            outs.append(TorchTensor(data, None, self._name_of((node, k)), known))
        if len(outs) == 1:
            outs[0]._ctx = op
            op.output = outs[0]
            self.rec.by_key[(node, 0)] = outs[0]
            return
        flat = [o.data.reshape(-1) for o in outs]
        packed = TorchTensor(
            np.concatenate(flat) if flat else np.zeros(0), op, f"{op.name} outputs", all(o.known for o in outs)
        )
        op.output = packed
        pickers, start = [], 0
        for k, o in enumerate(outs):
            o.name = o.name or f"{op.name}[{k}]"
            pick = Output(None, k, scope, seq)
            pick.inputs = [packed]
            pick.output = o
            o._ctx = pick
            pickers.append((pick, o, slice(start, start + o.data.size)))
            start += o.data.size
            self.rec.by_key[(node, k)] = o
        self.pickers[node] = pickers

    def _leaf(self, node):
        var = node.variable
        key = ("leaf", id(var))
        t = self.rec.by_key.get(key)
        if t is None:
            name = self._name_of(id(var))
            t = self.rec.by_key[key] = TorchTensor(to_numpy(var), None, name)
            self.rec.torch_leaves[id(var)] = var
            self.leaves.append((var, t))
            self.leaf_ids.add(id(t))
        return t

    def _link(self, node):
        op, slots = self.ops[node], []
        for i, (nf, k) in enumerate(node.next_functions):
            if nf is None:
                continue  # an input that needs no gradient (a constant): PyTorch keeps no trace of it
            slots.append(i)
            op.inputs.append(self._leaf(nf) if _is_leaf_node(nf) else self.rec.by_key[(nf, k)])
        self.slots[node] = slots

    def hook(self, node):
        """The hook for `node`: appends its step (and its pickers' steps) when PyTorch runs it."""

        def on_run(grad_inputs, grad_outputs):
            ins = [None if g is None else to_numpy(g) for g in grad_inputs]
            outs = [None if g is None else to_numpy(g) for g in grad_outputs]
            with self.lock:
                self._steps(node, ins, outs)

        return on_run

    def _add(self, fn, tensor, seed, contributions):
        """Append the step of `fn`: the gradient that arrived at `tensor` (`seed` if none did: the loss)."""
        grad = self.arrived.pop(id(tensor), seed)
        step = Step(len(self.rec.steps), 0, fn, tensor, grad)
        step.contributions = contributions
        self.rec.steps.append(step)
        for p, c in zip(fn.inputs, contributions):
            if c is not None:
                got = self.arrived.get(id(p))
                self.arrived[id(p)] = c if got is None else got + c  # in PyTorch's order: PyTorch's own sum

    def _steps(self, node, ins, outs):
        op = self.ops[node]
        if node in self.pickers:
            size = op.output.data.size
            dtype = np.result_type(*[g.dtype for g in outs if g is not None] or [np.float32])
            for (pick, o, where), g in zip(self.pickers[node], outs):
                if g is not None:
                    part = np.zeros(size, dtype)
                    part[where] = g.reshape(-1)
                    self._add(pick, o, g, [part])
            seed = np.zeros(size, dtype)
        else:
            seed = outs[0] if outs and outs[0] is not None else np.zeros(op.output.shape)
        self._add(op, op.output, seed, [ins[i] for i in self.slots[node]])

    def leaf_totals(self):
        """Each leaf's gradient: its contributions summed in the order they arrived (PyTorch's sum)."""
        return {key: g for key, g in self.arrived.items() if key in self.leaf_ids}


def _retained(torch, nodes):
    """(tensor, .grad) of every live tensor with `retain_grad()` made by one of `nodes` (to put back)."""
    wanted, out = set(nodes), []
    for o in gc.get_objects():
        if issubclass(type(o), torch.Tensor) and o.grad_fn is not None and o.retains_grad and o.grad_fn in wanted:
            out.append((o, o.grad))
    return out


def record(loss, module=None, names=None) -> TorchRecord:
    """The backward record of a PyTorch scalar `loss` (shape () or (1,)), in PyTorch's order, as numpy arrays.

    module: a `torch.nn.Module` whose `named_parameters()` name the leaves (default: the module
    given to `trace()` around the forward, if any). names: {tensor: "h_1"} for any leaf or
    intermediate tensor. No `.grad` changes; the graph is kept (`retain_graph`) for training.
    """
    torch = require_torch()
    if not is_torch_tensor(loss):
        raise TypeError(f"from_torch.record: expected a PyTorch tensor (the loss), got {type(loss).__name__}")
    if loss.grad_fn is None:
        raise ValueError(
            f"from_torch.record: the tensor (shape {tuple(loss.shape)}) has no graph (a leaf, or made without "
            "grad); pass the output of a computation on tensors that require grad"
        )
    if loss.numel() != 1:
        raise ValueError(
            f"from_torch.record: the loss has shape {tuple(loss.shape)}; record a scalar (e.g. loss.sum())"
        )
    if module is not None and not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch.record: module must be a torch.nn.Module, got {type(module).__name__}")
    given = _names(torch, names)
    if module is not None:
        given = {id(p): n for n, p in module.named_parameters()} | given
    rec = TorchRecord()
    built = _Builder(loss, given, rec)
    rec.start(rec.by_key[(loss.grad_fn, loss.output_nr)])
    missing = [name for key, name in _names(torch, names).items() if _lookup(rec, key) is None]
    if missing:
        raise ValueError(
            f"from_torch.record: names given to tensors that are not in the loss's graph: {', '.join(missing)} "
            "(PyTorch's graph holds only tensors that need a gradient and lead to the loss)"
        )
    if not built.leaves:
        raise ValueError("from_torch.record: no tensor in the graph requires grad as a leaf; nothing to record")
    kept = _retained(torch, built.nodes)
    handles = [n.register_hook(built.hook(n)) for n in built.nodes if not _is_leaf_node(n)]
    try:
        torch.autograd.grad(loss, [v for v, _ in built.leaves], retain_graph=True, allow_unused=True)
    except RuntimeError as e:
        if "second time" in str(e):
            raise RuntimeError(
                "from_torch.record: an earlier backward freed this graph; run the forward again, or call "
                "loss.backward(retain_graph=True) the first time"
            ) from e
        raise
    finally:
        for h in handles:
            h.remove()
        for t, g in kept:
            t.grad = g
    totals = built.leaf_totals()
    rec.leaves = [Leaf(t, totals[id(t)], 0) for _, t in built.leaves if id(t) in totals]
    return rec


def _lookup(rec, key):
    """The stand-in for a key of `_names` (None if the graph has no such tensor)."""
    return rec.by_key.get(("leaf", key) if isinstance(key, int) else key)


def _names(torch, names) -> dict:
    """{key: name} from {tensor: name}: a leaf by id, an intermediate by (node, output number)."""
    out = {}
    for t, name in (names or {}).items():
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"from_torch.record: names must map PyTorch tensors to names, got a {type(t).__name__} key")
        out[id(t) if t.grad_fn is None else (t.grad_fn, t.output_nr)] = str(name)
    return out
