"""A deliberately broken op, for seeing a gradient check fail (the demo, the docs and the tests)."""

import numpy as np

from ..autograd import Function


class WrongTanh(Function):
    """tanh(x) with a wrong backward: d/dx = 1 - out, where it should be 1 - out^2."""

    def forward(self, x):
        return np.tanh(x)

    def backward(self, g, ins, out):
        return g * (1 - out)
