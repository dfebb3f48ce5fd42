"""numpy ufuncs on Tensors: `np.exp(t)` records Exp exactly as `t.exp()` does.

Backward rules can then be written once for arrays and Tensors alike. A ufunc with no op
here computes on the arrays when nothing needs a gradient (or it has none, like np.isnan),
and otherwise raises instead of silently dropping the graph.
"""

from __future__ import annotations

import numpy as np

from . import ops
from .mode import current as _mode
from .tensor import Tensor, lift

_NO_GRADIENT = {
    np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
    np.isnan, np.isinf, np.isfinite, np.sign, np.signbit, np.floor, np.ceil, np.rint, np.trunc,
    np.logical_and, np.logical_or, np.logical_not, np.logical_xor,
}  # fmt: skip
_OPS = {
    np.add: ops.Add, np.subtract: ops.Sub, np.multiply: ops.Mul, np.true_divide: ops.Div,
    np.power: ops.Pow, np.matmul: ops.MatMul, np.maximum: ops.Maximum, np.negative: ops.Neg,
    np.exp: ops.Exp, np.log: ops.Log, np.sqrt: ops.Sqrt, np.tanh: ops.Tanh, np.absolute: ops.Abs,
}  # fmt: skip


def ufunc(uf, method, inputs, kwargs):
    """Tensor.__array_ufunc__: run the matching op, or compute on arrays where that is safe."""
    op = _OPS.get(uf) if method == "__call__" and not kwargs else None
    if op is not None:
        like = next(x for x in inputs if isinstance(x, Tensor))
        return op.apply(*[lift(x, like) for x in inputs])
    if any(isinstance(x, Tensor) for x in kwargs.get("out", ()) or ()):
        raise TypeError(f"np.{uf.__name__}: out= cannot be a Tensor; use the in-place operators (+=, ...)")
    needs = any(isinstance(x, Tensor) and x.requires_grad for x in inputs)
    if needs and _mode().grad and uf not in _NO_GRADIENT:
        call = uf.__name__ if method == "__call__" else f"{uf.__name__}.{method}"
        raise TypeError(
            f"np.{call}: no op records this on a Tensor that requires grad, so the graph would be "
            "dropped; use Tensor operations, or t.detach() / t.data for a constant"
        )
    arrays = [x.data if isinstance(x, Tensor) else x for x in inputs]
    return getattr(uf, method)(*arrays, **kwargs)
