"""Deliberately broken ops, for seeing a check fail (the demo, the docs and the tests).

Each one is wrong in a way a different check is there to catch:

- `WrongTanh`: a wrong derivative (gradcheck, the adjoint identity, check_graph);
- `DecayTanh`: a backward that is affine, not linear, in the incoming gradient (linearity);
- `ClobberingTanh`: a right derivative, but its backward writes into its input's buffer, which
  other readers of the same tensor still need (fan-out; check_graph names it);
- `MeanReducingMul`: a * b whose backward averages a broadcast input's gradient instead of
  summing it (broadcast reduction).
"""

import numpy as np

from .. import Function


class WrongTanh(Function):
    """tanh(x) with a wrong backward: d/dx = 1 - out, where it should be 1 - out^2."""

    def forward(self, x):
        return np.tanh(x)

    def backward(self, g, ins, out):
        return g * (1 - out)


class DecayTanh(Function):
    """tanh(x) whose backward also adds 0.1 x (a weight-decay gradient put in the wrong place): g -> J^T g + 0.1 x."""

    def forward(self, x):
        return np.tanh(x)

    def backward(self, g, ins, out):
        return g * (1 - out * out) + 0.1 * ins[0]


class ClobberingTanh(Function):
    """tanh(x) with the right derivative, computed in its input's buffer: afterwards x holds out^2 (arrays only)."""

    def forward(self, x):
        return np.tanh(x)

    def backward(self, g, ins, out):
        x = ins[0]
        np.multiply(out, out, out=x)  # "saves memory": x is the leaf's own array, read by every other user of x
        return g * (1 - x)


def _mean_to(g, shape):
    """g (broadcast shape) averaged over the axes numpy broadcast to reach it from `shape` (should be summed)."""
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
    return g.mean(axis=axes, keepdims=True).reshape(shape) if axes else g


class MeanReducingMul(Function):
    """a * b (broadcasting) whose backward averages a broadcast input's gradient over the copies instead of summing."""

    def forward(self, a, b):
        return a * b

    def backward(self, g, ins, out):
        a, b = ins
        return _mean_to(g * b, a.shape), _mean_to(g * a, b.shape)


class SpoiledMatMul(Function):
    """a @ b (2-d) whose gradient for b is multiplied by `factor` at the element `where` (a tuple)."""

    def forward(self, a, b, where=(0, 0), factor=1.01):
        return a @ b

    def backward(self, g, ins, out):
        a, b = ins
        db = a.T @ g
        db[tuple(self.params.get("where", (0, 0)))] *= self.params.get("factor", 1.01)
        return g @ b.T, db


class TransposedMatMul(Function):
    """a @ b (2-d, b square) whose gradient for b is returned transposed: (a^T g)^T instead of a^T g."""

    def forward(self, a, b):
        return a @ b

    def backward(self, g, ins, out):
        a, b = ins
        return g @ b.T, (a.T @ g).T


def stale_tanh():
    """A fresh tanh op whose backward uses the input of the first call it saw: right there, wrong anywhere else."""
    memory = {}

    class StaleTanh(Function):
        def forward(self, x):
            return np.tanh(x)

        def backward(self, g, ins, out):
            first = memory.setdefault("x", np.array(ins[0]))  # a cache that is never refreshed
            return g * (1 - np.tanh(first) ** 2)

    return StaleTanh
