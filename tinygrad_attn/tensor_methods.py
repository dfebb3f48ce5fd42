"""Tensor's operators and methods: each one runs its op from `ops/`.

`tensor.py` defines what a Tensor holds; this module gives it arithmetic (`+ - * / ** @`),
math methods, reductions, movement, indexing, `backward` and numpy's ufuncs. The methods
are written in the class below and copied onto `Tensor` when the package is imported, so
the layers point one way: tensor <- function <- ops <- autograd <- tensor_methods.
"""

from __future__ import annotations

from . import autograd, numpy_interop, ops
from .ops.movement import normalize_index
from .tensor import Tensor, lift

__all__ = ["TensorMethods", "install"]


class TensorMethods:
    """The methods `install` copies onto Tensor (this class is never instantiated)."""

    def backward(self, grad=None, retain_graph=False, retain_grad=False, create_graph=False):
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` (`grad` seeds a non-scalar)."""
        autograd.backward(self, grad, retain_graph, retain_grad, create_graph)

    # ---- arithmetic (each a Function in ops/) ---------------------------------------------
    def __add__(self, other):
        return ops.Add.apply(self, other if type(other) is Tensor else lift(other, self))

    def __radd__(self, other):
        return ops.Add.apply(lift(other, self), self)

    def __sub__(self, other):
        return ops.Sub.apply(self, other if type(other) is Tensor else lift(other, self))

    def __rsub__(self, other):
        return ops.Sub.apply(lift(other, self), self)

    def __mul__(self, other):
        return ops.Mul.apply(self, other if type(other) is Tensor else lift(other, self))

    def __rmul__(self, other):
        return ops.Mul.apply(lift(other, self), self)

    def __truediv__(self, other):
        return ops.Div.apply(self, other if type(other) is Tensor else lift(other, self))

    def __rtruediv__(self, other):
        return ops.Div.apply(lift(other, self), self)

    def __pow__(self, other):
        return ops.Pow.apply(self, lift(other, self))

    def __rpow__(self, other):
        return ops.Pow.apply(lift(other, self), self)

    def __matmul__(self, other):
        return ops.MatMul.apply(self, other if type(other) is Tensor else lift(other, self))

    def __rmatmul__(self, other):
        return ops.MatMul.apply(lift(other, self), self)

    def __neg__(self):
        return ops.Neg.apply(self)

    def exp(self):
        """Elementwise e^x (same shape)."""
        return ops.Exp.apply(self)

    def log(self):
        """Elementwise natural log (same shape)."""
        return ops.Log.apply(self)

    def sqrt(self):
        """Elementwise square root (same shape)."""
        return ops.Sqrt.apply(self)

    def tanh(self):
        """Elementwise tanh (same shape)."""
        return ops.Tanh.apply(self)

    def sigmoid(self):
        """Elementwise logistic sigmoid (same shape)."""
        return ops.Sigmoid.apply(self)

    def relu(self):
        """Elementwise max(x, 0) (same shape)."""
        return ops.Relu.apply(self)

    def abs(self):
        """Elementwise |x| (same shape)."""
        return ops.Abs.apply(self)

    def clip(self, min=None, max=None):
        """Elementwise clip to [min, max] (same shape)."""
        return ops.Clip.apply(self, lo=min, hi=max)

    def maximum(self, other):
        """Elementwise max with another tensor (broadcast shape)."""
        return ops.Maximum.apply(self, lift(other, self))

    # ---- reductions -----------------------------------------------------------------------
    def sum(self, axis=None, keepdims=False):
        """Sum over `axis` (int, tuple or None for all)."""
        return ops.Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        """Mean over `axis` (int, tuple or None for all)."""
        return ops.Mean.apply(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        """Max over `axis`; tied maxima share the gradient evenly."""
        return ops.Max.apply(self, axis=axis, keepdims=keepdims)

    def logsumexp(self, axis=None, keepdims=False):
        """log(sum(exp(x))) over `axis`, computed stably."""
        return ops.LogSumExp.apply(self, axis=axis, keepdims=keepdims)

    def softmax(self, axis=-1):
        """exp(x) / sum(exp(x)) along `axis` (same shape), computed stably."""
        return ops.Softmax.apply(self, axis=axis)

    def log_softmax(self, axis=-1):
        """x - logsumexp(x) along `axis` (same shape)."""
        return ops.LogSoftmax.apply(self, axis=axis)

    # ---- movement -------------------------------------------------------------------------
    def reshape(self, *shape):
        """Same data in a new shape; one dimension may be -1."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        if shape == self.data.shape:
            return self
        return ops.Reshape.apply(self, shape=shape)

    def transpose(self, *axes):
        """Permute the axes (reversed when none are given)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return ops.Transpose.apply(self, axes=axes or None)

    @property
    def T(self):
        """The tensor with its axes reversed."""
        return ops.Transpose.apply(self, axes=None)

    def swapaxes(self, a, b):
        """Swap two axes."""
        axes = list(range(self.ndim))
        try:
            axes[a], axes[b] = axes[b], axes[a]
        except IndexError:
            raise ValueError(f"swapaxes: axes {a}, {b} out of range for shape {self.shape}") from None
        return ops.Transpose.apply(self, axes=tuple(axes))

    def __getitem__(self, idx):
        if type(idx) is not int and type(idx) is not slice:
            idx = normalize_index(idx, self.shape)
        return ops.GetItem.apply(self, idx=idx)

    # ---- numpy functions on Tensors record the op (np.exp(t) is t.exp()) ------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return numpy_interop.ufunc(ufunc, method, inputs, kwargs)


def install(cls=Tensor):
    """Copy every method and property of TensorMethods onto `cls`."""
    for name, value in vars(TensorMethods).items():
        if name not in ("__module__", "__qualname__", "__doc__", "__dict__", "__weakref__"):
            setattr(cls, name, value)


install()
