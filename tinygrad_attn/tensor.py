"""Tensor: a numpy array, its gradient, and the op that made it."""

from __future__ import annotations

import numbers

import numpy as np

from .mode import current as _mode

DEFAULT_DTYPE = np.float32
WRITES = [0]  # in-place writes so far, anywhere: a node made after the last one needs no version check


def _convert(data, dtype):
    """Turn user data into an ndarray: Python floats become float32, arrays keep their dtype."""
    if isinstance(data, np.ndarray):
        arr = np.array(data, dtype=dtype)  # a copy: the Tensor never shares the caller's buffer
    else:
        try:
            arr = np.array(data, dtype=dtype)
        except (ValueError, TypeError) as e:
            raise TypeError(f"Tensor: cannot make numeric data from {type(data).__name__}: {e}") from None
        if dtype is None and arr.dtype == np.float64 and not isinstance(data, np.generic):
            arr = arr.astype(DEFAULT_DTYPE)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"Tensor: data of dtype {arr.dtype} (shape {arr.shape}) is not numeric")
    return arr


class Tensor:
    """An n-d array that records the ops applied to it, for reverse-mode autodiff.

    `Tensor(data)` copies `data` (an ndarray, a list, a number or another Tensor), as
    `torch.tensor` does: changing the array afterwards never changes the Tensor. `t.detach()`
    and views (`t.reshape`, `t[0:2]`, `t.T`) share `t`'s data and its version counter.
    """

    __slots__ = ("data", "_grad", "requires_grad", "_ctx", "name", "_vc", "_hooks", "_retain", "__weakref__")
    __array_priority__ = 1000  # ndarray (op) Tensor defers to Tensor's reflected operator

    def __init__(self, data, requires_grad=False, name=None, dtype=None):
        if isinstance(data, Tensor):
            data = data.data
        arr = _convert(data, dtype)
        if requires_grad and arr.dtype.kind != "f":
            raise TypeError(f"Tensor: only floating-point data can require grad, got dtype {arr.dtype}")
        self.data = arr
        self._grad = None
        self.requires_grad = bool(requires_grad)
        self._ctx = None
        self.name = name
        self._vc = None  # version counter [n], shared with detached copies; None until needed
        self._hooks = None
        self._retain = False

    # ---- basic properties -------------------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def is_leaf(self):
        return self._ctx is None

    @property
    def op(self):
        """The Function that made this tensor (None for leaves)."""
        return self._ctx

    def numpy(self):
        """The data as an ndarray."""
        return self.data

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: tensor of shape {self.shape} has {self.data.size} elements, not 1")
        return self.data.item()

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __repr__(self):
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self._ctx is not None:
            extra += f", op={self._ctx.name}"
        if self.name:
            extra += f", name={self.name!r}"
        return f"Tensor({np.array2string(self.data, precision=4, threshold=20)}, dtype={self.dtype}{extra})"

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"bool: truth value of a tensor of shape {self.shape} is ambiguous")
        return bool(self.data)

    # ---- autograd -----------------------------------------------------------------------
    @property
    def grad(self):
        """The accumulated gradient (a Tensor of this shape) or None; assign None to reset."""
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                value = Tensor(value)
            if value.shape != self.data.shape:
                raise ValueError(f"grad: gradient of shape {value.shape} for a tensor of shape {self.shape}")
        self._grad = value

    def register_hook(self, fn):
        """Call `fn(grad)` when this tensor's gradient is computed; a returned Tensor replaces it."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: tensor does not require grad")
        self._hooks = (self._hooks or ()) + (fn,)
        return fn

    def retain_grad(self):
        """Keep `.grad` on this intermediate tensor after backward."""
        self._retain = True
        return self

    def detach(self):
        """A tensor sharing the data and the version counter, cut from the graph."""
        d = new_tensor(self.data, False)
        if self._vc is None:
            self._vc = [0]
        d._vc = self._vc
        return d

    @property
    def _version(self) -> int:
        """How many times the data was changed in place (saved values are checked against it)."""
        return self._vc[0] if self._vc is not None else 0

    def _bump_version(self):
        """Note an in-place change of the data (optimizers call this after each update)."""
        if self._vc is None:
            self._vc = [1]
        else:
            self._vc[0] += 1
        WRITES[0] += 1

    def requires_grad_(self, flag=True):
        if flag and self.dtype.kind != "f":
            raise TypeError(f"requires_grad_: dtype {self.dtype} cannot require grad")
        self.requires_grad = bool(flag)
        return self

    # ---- in-place ops: change the data, bump the version ----------------------------------
    def _inplace(self, opname, fn, other):
        if _mode().grad:
            if self.requires_grad and self._ctx is None:
                raise RuntimeError(
                    f"{opname}: in-place op on a leaf tensor that requires grad (shape {self.shape}); "
                    "use ta.no_grad() or an out-of-place op"
                )
            if self._ctx is not None or (isinstance(other, Tensor) and other.requires_grad):
                raise RuntimeError(
                    f"{opname}: in-place op on a tensor that is part of a graph (shape {self.shape}) "
                    "is not recorded; write t = t op x instead"
                )
        value = other.data if isinstance(other, Tensor) else other
        if not self.data.flags.writeable:
            raise ValueError(
                f"{opname}: this tensor's data (shape {self.shape}) is read-only (a gradient handed to a "
                "hook, a broadcast view, or a read-only array); compute a new tensor instead"
            )
        try:
            fn(self.data, value, out=self.data, casting="same_kind")
        except ValueError:
            raise ValueError(
                f"{opname}: cannot update shape {self.shape} in place with shape {np.shape(value)}"
            ) from None
        self._bump_version()
        return self

    def __iadd__(self, other):
        return self._inplace("iadd", np.add, other)

    def __isub__(self, other):
        return self._inplace("isub", np.subtract, other)

    def __imul__(self, other):
        return self._inplace("imul", np.multiply, other)

    def __itruediv__(self, other):
        return self._inplace("itruediv", np.true_divide, other)

    def __setitem__(self, idx, value):
        def assign(dst, v, out=None, casting=None):
            dst[idx] = v

        if isinstance(idx, Tensor):
            idx = idx.data
        try:
            return self._inplace("setitem", assign, value)
        except IndexError as e:
            raise IndexError(f"setitem: {e} (tensor shape {self.shape})") from None

    # ---- comparisons (no gradient; bool tensors) -----------------------------------------
    def _cmp(self, other, fn):
        return new_tensor(np.asarray(fn(self.data, other.data if isinstance(other, Tensor) else other)), False)

    def __lt__(self, other):
        return self._cmp(other, np.less)

    def __le__(self, other):
        return self._cmp(other, np.less_equal)

    def __gt__(self, other):
        return self._cmp(other, np.greater)

    def __ge__(self, other):
        return self._cmp(other, np.greater_equal)

    def __eq__(self, other):
        return self._cmp(other, np.equal)

    def __ne__(self, other):
        return self._cmp(other, np.not_equal)

    __hash__ = object.__hash__  # tensors stay usable as dict keys and in sets (by identity)


def new_tensor(data, requires_grad):
    """Wrap an ndarray without checks (internal fast path)."""
    t = object.__new__(Tensor)
    t.data = data
    t._grad = None
    t.requires_grad = requires_grad
    t._ctx = None
    t.name = None
    t._vc = None
    t._hooks = None
    t._retain = False
    return t


def lift(x, like: Tensor) -> Tensor:
    """A constant operand as a Tensor; a Python number takes `like`'s dtype."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, numbers.Number) and not isinstance(x, np.generic):
        kind = like.data.dtype.kind
        if isinstance(x, bool) or (isinstance(x, numbers.Integral) and kind in "iuf") or kind in "f":
            dt = like.data.dtype
        else:
            dt = DEFAULT_DTYPE
        return new_tensor(np.asarray(x, dtype=dt), False)
    return Tensor(x)
