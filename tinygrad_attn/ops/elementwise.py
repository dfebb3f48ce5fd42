"""Elementwise ops: binary arithmetic (with broadcasting) and unary functions."""

from __future__ import annotations

import numpy as np

from ..arrays import sum_to
from ..function import Function
from ..tensor import Tensor


def _broadcast_error(op, a, b):
    return ValueError(f"{op}: shapes {np.shape(a)} and {np.shape(b)} cannot be broadcast together")


def exp(a):
    """exp for an array or a Tensor (backward rules use it in both modes)."""
    return Exp.apply(a) if isinstance(a, Tensor) else np.exp(a)


def log(a):
    """log for an array or a Tensor."""
    return Log.apply(a) if isinstance(a, Tensor) else np.log(a)


_ONES = {}


def _one(dtype):
    """A 0-d array 1 of `dtype`: ufuncs take it ~0.7 us faster than the Python 1 (same bits)."""
    one = _ONES.get(dtype)
    if one is None:
        one = _ONES[dtype] = np.ones((), dtype)
    return one


def sigmoid_into(x, out):
    """out = 1 / (1 + exp(-x)) in one buffer (four ufunc passes); returns out. The caller silences overflow."""
    np.negative(x, out=out)
    np.exp(out, out=out)
    one = _one(out.dtype)
    out += one
    return np.divide(one, out, out=out)


# ---- binary -------------------------------------------------------------------------------
class Add(Function):
    """a + b; d/da = 1, d/db = 1."""

    scalar_rules = True

    def forward(self, a, b):
        try:
            return a + b
        except ValueError:
            raise _broadcast_error("add", a, b) from None

    def backward(self, g, ins, out):
        return g, g


class Sub(Function):
    """a - b; d/da = 1, d/db = -1."""

    scalar_rules = True

    def forward(self, a, b):
        try:
            return a - b
        except ValueError:
            raise _broadcast_error("sub", a, b) from None

    def backward(self, g, ins, out):
        if not self.needs_input_grad[1]:
            return g, None
        # a broadcast b (x - mean) gets its sum first: negate the small array, not g
        return g, -sum_to(g, ins[1].shape)


class Mul(Function):
    """a * b; d/da = b, d/db = a."""

    scalar_rules = True

    def forward(self, a, b):
        try:
            return a * b
        except ValueError:
            raise _broadcast_error("mul", a, b) from None

    def backward(self, g, ins, out):
        a, b = ins
        need_a, need_b = self.needs_input_grad
        if self.inputs[0] is self.inputs[1]:  # x * x: both products are g * x, so compute it once
            ga = g * b if need_a else None
            return ga, ga
        return (g * b if need_a else None), (g * a if need_b else None)


class Div(Function):
    """a / b; d/da = 1/b, d/db = -a/b^2 = -out/b."""

    scalar_rules = True

    def forward(self, a, b):
        try:
            return a / b
        except ValueError:
            raise _broadcast_error("div", a, b) from None

    def backward(self, g, ins, out):
        ga = g / ins[1]
        if not self.needs_input_grad[1]:
            return ga, None
        # a broadcast b (x / std) gets its sum first: negate the small array, not the product
        return ga, -sum_to(ga * out, ins[1].shape)


class Pow(Function):
    """a ** b; d/da = b a^(b-1), d/db = a^b log a (only where the exponent needs a grad)."""

    def forward(self, a, b):
        try:
            return a**b
        except ValueError:
            if np.asarray(a).dtype.kind in "iu" and np.asarray(b).dtype.kind in "iu" and np.any(np.asarray(b) < 0):
                raise ValueError(
                    f"pow: an integer tensor (dtype {np.asarray(a).dtype}, shape {np.shape(a)}) to a negative "
                    "integer power; make the base a float tensor (Tensor(data, dtype=np.float32))"
                ) from None
            raise _broadcast_error("pow", a, b) from None

    def backward(self, g, ins, out):
        a, b = ins
        ga = g * b * a ** (b - 1)
        if not self.needs_input_grad[1]:
            return ga, None
        # a^b log a is 0 where a == 0 (the limit for b > 0); keep log finite there
        safe = np.where(np.asarray(a) > 0, 1.0, 0.0).astype(np.asarray(a).dtype)
        return ga, g * out * log(a * safe + (1 - safe)) * safe


class Maximum(Function):
    """max(a, b) elementwise; ties split the gradient evenly."""

    def forward(self, a, b):
        try:
            out = np.maximum(a, b)
        except ValueError:
            raise _broadcast_error("maximum", a, b) from None
        wa = (a > b) + 0.5 * (a == b)
        self.saved = (wa.astype(out.dtype), (1 - wa).astype(out.dtype))
        return out

    def backward(self, g, ins, out):
        wa, wb = self.saved
        return g * wa, g * wb


# ---- unary --------------------------------------------------------------------------------
class Neg(Function):
    """-x."""

    scalar_rules = True

    def forward(self, x):
        return -x

    def backward(self, g, ins, out):
        return -g


class Exp(Function):
    """exp(x); d/dx = exp(x) = out."""

    scalar_rules = True

    def forward(self, x):
        return np.exp(x)

    def backward(self, g, ins, out):
        return g * out


class Log(Function):
    """log(x); d/dx = 1/x."""

    scalar_rules = True

    def forward(self, x):
        return np.log(x)

    def backward(self, g, ins, out):
        return g / ins[0]


class Sqrt(Function):
    """sqrt(x); d/dx = 1 / (2 sqrt(x)) = 0.5 / out."""

    scalar_rules = True

    def forward(self, x):
        return np.sqrt(x)

    def backward(self, g, ins, out):
        return g * 0.5 / out


class Tanh(Function):
    """tanh(x); d/dx = 1 - tanh(x)^2 = 1 - out^2."""

    scalar_rules = True

    def forward(self, x):
        return np.tanh(x)

    def backward(self, g, ins, out):
        return g * (1 - out * out)

    def backward_in_place(self, g, ins, out):
        """`backward` on ndarrays in one buffer instead of three (the same bits)."""
        if not out.ndim:  # a numpy scalar cannot be written into
            return self.backward(g, ins, out)
        d = out * out
        np.subtract(_one(d.dtype), d, out=d)
        d *= g
        return d


class Sigmoid(Function):
    """1 / (1 + exp(-x)); d/dx = out (1 - out).

    exp(-x) may overflow to inf for very negative x, and 1 / (1 + inf) = 0 is then the
    right answer, so the overflow warning is silenced rather than the input clipped.
    """

    scalar_rules = True

    def forward(self, x):
        with np.errstate(over="ignore"):
            if type(x) is not np.ndarray:
                return 1 / (1 + np.exp(-x))
            return sigmoid_into(x, np.empty_like(x))

    def backward(self, g, ins, out):
        return g * out * (1 - out)

    def backward_in_place(self, g, ins, out):
        """`backward` on ndarrays in one buffer instead of three (equal up to rounding: (1 - out) out g)."""
        if not out.ndim:  # a numpy scalar cannot be written into
            return self.backward(g, ins, out)
        d = np.subtract(_one(out.dtype), out)
        d *= out
        d *= g
        return d


class Relu(Function):
    """max(x, 0); d/dx = 1 where x > 0, else 0."""

    def forward(self, x):
        mask = x > 0
        self.saved = mask
        return x * mask

    def backward(self, g, ins, out):
        return g * self.saved


class Abs(Function):
    """|x|; d/dx = sign(x) (0 at 0)."""

    def forward(self, x):
        self.saved = np.sign(x)
        return np.abs(x)

    def backward(self, g, ins, out):
        return g * self.saved


class Clip(Function):
    """clip(x, lo, hi); d/dx = 1 strictly inside the range, else 0."""

    def forward(self, x, lo=None, hi=None):
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"clip: lower bound {lo} is above upper bound {hi} (shape {x.shape})")
        mask = np.ones(x.shape, dtype=bool)
        if lo is not None:
            mask &= x > lo
        if hi is not None:
            mask &= x < hi
        self.saved = mask
        return np.clip(x, lo, hi)

    def backward(self, g, ins, out):
        return g * self.saved


class Where(Function):
    """where(cond, a, b) with a constant boolean cond; grads go to the chosen side."""

    def forward(self, a, b, cond=None):
        try:
            out = np.where(cond, a, b)
        except ValueError:
            raise ValueError(
                f"where: condition {np.shape(cond)}, x {np.shape(a)} and y {np.shape(b)} cannot be broadcast together"
            ) from None
        self.saved = cond
        return out

    def backward(self, g, ins, out):
        cond = self.saved
        return g * cond, g * ~cond
