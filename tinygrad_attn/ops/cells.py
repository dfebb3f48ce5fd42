"""Fused recurrent cells: one node per step for training, equal to the op-level graph.

`nn.LSTM(..., fused=True)` runs its gate arithmetic as one `LSTMCell` node instead of the
thirteen nodes of the op-level cell (sigmoid, tanh, slices, products, sum); from the second step
on the node also takes the recurrent product h_{t-1} W_h, which saves two nodes and a buffer
per step. The numbers are those of the op-level graph up to rounding; the op-level form stays
the default, so every drawn graph shows the gates. A fused node draws as one box labelled LSTMCell.
"""

from __future__ import annotations

import numpy as np

from ..function import Function
from ..tensor import Tensor
from .elementwise import _one, sigmoid_into
from .movement import Concat


class LSTMCell(Function):
    """(a (N, 4H), c_prev (N, H)) -> [h, c] (N, 2H); without c_prev the cell state starts at zero.
    With h_prev (N, K) and W_h (K, 4H) as well, the pre-activation is a + h_prev W_h (a whole step).

    Gates in the book's order [f, g, i, o] along a's last axis:
    f, i, o = sigmoid(a_f, a_i, a_o);  g = tanh(a_g);  c = f * c_prev + g * i;  h = o * tanh(c).
    """

    def forward(self, a, c_prev=None, h_prev=None, W_h=None):
        if a.ndim != 2 or a.shape[1] % 4:
            raise ValueError(f"LSTMCell: pre-activation of shape {a.shape} must be (N, 4H)")
        N, H = a.shape[0], a.shape[1] // 4
        if c_prev is not None and c_prev.shape != (N, H):
            raise ValueError(f"LSTMCell: cell state of shape {c_prev.shape} must be ({N}, {H}) for a of {a.shape}")
        if h_prev is not None:
            a = _add_recurrent(a, h_prev, W_h)
        act = np.empty(a.shape, np.result_type(a, c_prev) if c_prev is not None else a.dtype)
        with np.errstate(over="ignore"):  # exp(-x) = inf gives sigmoid 0, the right answer
            sigmoid_into(a, act)  # the whole array: contiguous passes beat three strided blocks
        np.tanh(a[:, H : 2 * H], out=act[:, H : 2 * H])
        f, g, i, o = act[:, :H], act[:, H : 2 * H], act[:, 2 * H : 3 * H], act[:, 3 * H :]
        out = np.empty((N, 2 * H), act.dtype)
        c = out[:, H:]
        np.multiply(g, i, out=c)
        if c_prev is not None:
            c += f * c_prev  # (op-level: f * c + g * i, the same sum)
        tc = np.tanh(c)
        np.multiply(o, tc, out=out[:, :H])
        self.saved = act, tc
        return out

    def backward(self, g, ins, out):
        """The rule, from the gates recomputed from the inputs (so it is differentiable under create_graph)."""
        a = ins[0] if len(ins) < 4 else ins[0] + ins[2] @ ins[3]
        H = a.shape[1] // 4
        f, gg, i, o = _sigmoid(a[:, :H]), _tanh(a[:, H : 2 * H]), _sigmoid(a[:, 2 * H : 3 * H]), _sigmoid(a[:, 3 * H :])
        c_prev = ins[1] if len(ins) > 1 else 0.0
        tc = _tanh(out[:, H:])
        dh, dc_in = g[:, :H], g[:, H:]
        dc = dc_in + dh * o * (1 - tc * tc)
        da = _concat([dc * c_prev * f * (1 - f), dc * i * (1 - gg * gg), dc * gg * i * (1 - i), dh * tc * o * (1 - o)])
        return _per_input(ins, da, dc * f if len(ins) > 1 else None)

    def backward_in_place(self, g, ins, out):
        """`backward` on ndarrays from the saved gates, in a few buffers (equal up to rounding)."""
        return _per_input(ins, *self._gate_grads_in_place(g, ins))

    def vjp(self, acc, g, ins, out):
        if not acc.arrays:
            return acc.add_all(self, self.backward(g, ins, out))
        da, dc_prev = self._gate_grads_in_place(g, ins)
        if len(ins) < 4:
            return acc.add_all(self, _per_input(ins, da, dc_prev))
        acc.add(self, 0, da)
        acc.add(self, 1, dc_prev)
        if self.inputs[2].requires_grad:  # an initial state given as a constant takes no GEMM
            acc.add(self, 2, da @ ins[3].T)
        acc.defer(self, 3, ins[2], da)  # W_h: h_{t-1}^T da of every step summed by one GEMM at the end

    def _gate_grads_in_place(self, dout, ins):
        """-> (d a, d c_prev or None), from the saved activations, written into few buffers."""
        act, tc = self.saved
        H = tc.shape[1]
        f, gg, i, o = act[:, :H], act[:, H : 2 * H], act[:, 2 * H : 3 * H], act[:, 3 * H :]
        dh, dc_in = dout[:, :H], dout[:, H:]
        dc = tc * tc  # dc = dc_in + dh * o * (1 - tanh(c)^2)
        np.subtract(_one(dc.dtype), dc, out=dc)
        dc *= o
        dc *= dh
        dc += dc_in
        one = _one(act.dtype)
        da = np.subtract(one, act)  # the gates' derivatives: s (1 - s), then 1 - g^2 for the g block
        da *= act
        dg = da[:, H : 2 * H]
        np.multiply(gg, gg, out=dg)
        np.subtract(one, dg, out=dg)
        m = np.empty_like(da)  # what each derivative multiplies: dc c_prev, dc i, dc g, dh tanh(c)
        if len(ins) > 1:
            np.multiply(dc, ins[1], out=m[:, :H])
        else:
            m[:, :H] = 0
        np.multiply(dc, i, out=m[:, H : 2 * H])
        np.multiply(dc, gg, out=m[:, 2 * H : 3 * H])
        np.multiply(dh, tc, out=m[:, 3 * H :])
        da *= m
        return da, (dc * f if len(ins) > 1 and self.needs_input_grad[1] else None)


def _sigmoid(x):
    """1 / (1 + exp(-x)) for an array or a Tensor."""
    return x.sigmoid() if isinstance(x, Tensor) else 1 / (1 + np.exp(-x))


def _tanh(x):
    """tanh for an array or a Tensor."""
    return x.tanh() if isinstance(x, Tensor) else np.tanh(x)


def _concat(parts):
    """The parts side by side along axis 1 (arrays or Tensors)."""
    return Concat.apply(*parts, axis=1) if isinstance(parts[0], Tensor) else np.concatenate(parts, axis=1)


def _per_input(ins, da, dc_prev):
    """The gradients of (a), (a, c_prev) or (a, c_prev, h_prev, W_h) from d a and d c_prev (arrays or Tensors)."""
    if len(ins) == 1:
        return da
    if len(ins) == 2:
        return da, dc_prev
    return da, dc_prev, da @ ins[3].T, ins[2].T @ da


def _add_recurrent(a, h_prev, W_h):
    """a + h_prev @ W_h, summed into the product's own buffer."""
    N, G = a.shape
    if W_h is None or h_prev.ndim != 2 or h_prev.shape[0] != N or W_h.shape != (h_prev.shape[-1], G):
        W_shape = None if W_h is None else W_h.shape
        raise ValueError(
            f"LSTMCell: h_prev of shape {h_prev.shape} and W_h of shape {W_shape} must be (N, K) and (K, {G}) "
            f"for a of {a.shape}"
        )
    pre = h_prev @ W_h
    if pre.dtype != np.result_type(a, pre):
        return a + pre
    return np.add(a, pre, out=pre)  # the op-level a + h W_h: the same sum
