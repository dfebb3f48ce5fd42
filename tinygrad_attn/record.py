"""The backward record: what the engine did, node by node, for pictures, pages and checks.

    with ta.record_backward() as rec:
        loss.backward()
    for step in rec.steps:          # in the order the engine processed the nodes
        step.op, step.grad, step.contributions

Every backward run inside the block appends to the same record (a block inside another
records into both). The sweep that records sums exactly as a plain sweep does, so the
gradients it gives are training's, bit for bit; on the side it keeps every contribution.
The contributions that reach a tensor sum, in the recorded order, to exactly the gradient it
received -- with one exception, said by `Leaf.batched`: a weight used at several steps (an
RNN's W_h) gets the products a_t^T g_t of all steps summed by one GEMM at the end, as in
training, and its recorded per-step products sum to that within the rounding of the order
of summation.
"""

from __future__ import annotations

import contextlib
import contextvars

import numpy as np

ACTIVE: contextvars.ContextVar[Record | None] = contextvars.ContextVar("tinygrad_attn_record", default=None)


class Step:
    """One node of one backward run: the gradient that arrived and what it passed on."""

    __slots__ = ("index", "run", "fn", "tensor", "grad", "contributions")

    def __init__(self, index, run, fn, tensor, grad):
        self.index = index  # position in Record.steps
        self.run = run  # which backward call inside the record (0, 1, ...)
        self.fn = fn  # the Function (its backward rule, saved values if retained)
        self.tensor = tensor  # the node's output tensor
        self.grad = grad  # ndarray: the summed gradient that arrived, before hooks
        self.contributions = [None] * len(fn.inputs)  # per input: ndarray of its shape, or None

    @property
    def op(self) -> str:
        """The op's name, e.g. "MatMul"."""
        return self.fn.name

    @property
    def inputs(self):
        """The op's input tensors."""
        return self.fn.inputs

    @property
    def scope(self) -> str:
        """The scope the node was created in ("" at top level)."""
        return self.fn.scope

    def __repr__(self):
        shapes = ", ".join("-" if c is None else str(c.shape) for c in self.contributions)
        return f"Step({self.index}: {self.op} {self.tensor.shape} -> [{shapes}])"


class Leaf:
    """A leaf tensor's total gradient in one backward run (before its hooks).

    `batched`: how many of its contributions were a^T g products summed by one GEMM at the
    end of the sweep (0 when each was added as it arrived).
    """

    __slots__ = ("tensor", "grad", "run", "batched")

    def __init__(self, tensor, grad, run, batched=0):
        self.tensor, self.grad, self.run, self.batched = tensor, grad, run, batched

    def __repr__(self):
        return f"Leaf({self.tensor.name or 'leaf'} {self.tensor.shape}, run {self.run})"


class Record:
    """The steps and leaf gradients of every backward run inside one `record_backward()` block."""

    def __init__(self, accumulate: bool = True):
        self.accumulate = accumulate  # False: backward leaves every `.grad` as it was
        self.steps: list[Step] = []
        self.leaves: list[Leaf] = []
        self.roots: list = []  # the tensor each run started from
        self.runs = 0

    def start(self, root) -> int:
        self.roots.append(root)
        self.runs += 1
        return self.runs - 1

    def grad_of(self, tensor, run: int | None = None):
        """The gradient `tensor` received (summed over runs unless `run` is given), or None."""
        parts = [s.grad for s in self.steps if s.tensor is tensor and (run is None or s.run == run)]
        parts += [lf.grad for lf in self.leaves if lf.tensor is tensor and (run is None or lf.run == run)]
        if not parts:
            return None
        total = parts[0]
        for p in parts[1:]:
            total = total + p
        return total

    def contributions_to(self, tensor, run: int | None = None):
        """[(step, input index, ndarray)] of every contribution that reached `tensor`, in order."""
        out = []
        for s in self.steps:
            if run is not None and s.run != run:
                continue
            for i, (p, c) in enumerate(zip(s.fn.inputs, s.contributions)):
                if p is tensor and c is not None:
                    out.append((s, i, c))
        return out

    def tensors(self):
        """Every tensor that received a gradient: node outputs in step order, then leaves."""
        seen, out = set(), []
        for t in [s.tensor for s in self.steps] + [lf.tensor for lf in self.leaves]:
            if id(t) not in seen:
                seen.add(id(t))
                out.append(t)
        return out

    def absorb(self, inner: Record):
        """Append the runs of a record opened inside this one (steps renumbered, arrays shared)."""
        first_run = self.runs
        for s in inner.steps:
            step = Step(len(self.steps), first_run + s.run, s.fn, s.tensor, s.grad)
            step.contributions = s.contributions
            self.steps.append(step)
        for lf in inner.leaves:
            self.leaves.append(Leaf(lf.tensor, lf.grad, first_run + lf.run, lf.batched))
        self.roots.extend(inner.roots)
        self.runs += inner.runs

    def __len__(self):
        return len(self.steps)

    def __repr__(self):
        return f"Record({len(self.steps)} steps, {len(self.leaves)} leaf gradients, {self.runs} runs)"


@contextlib.contextmanager
def record_backward(accumulate: bool = True):
    """Context manager yielding a `Record` of every backward run inside (this thread or task).

    With `accumulate=False` the runs only record: no `.grad` changes (leaf hooks do not run;
    hooks on intermediate tensors do, since they shape the gradients passed on).
    """
    outer = ACTIVE.get()
    rec = Record(accumulate if outer is None else accumulate and outer.accumulate)
    token = ACTIVE.set(rec)
    try:
        yield rec
    finally:
        ACTIVE.reset(token)
        if outer is not None:
            outer.absorb(rec)


def as_array(g) -> np.ndarray:
    """A recorded gradient as an ndarray (create_graph sweeps hand Tensors around)."""
    return g if isinstance(g, np.ndarray) else np.asarray(g.data if hasattr(g, "data") else g)
