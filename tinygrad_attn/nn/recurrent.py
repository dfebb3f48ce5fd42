"""Recurrent layers over whole sequences: RNN, LSTM, GRU (batch-first, row vectors).

The equations are those of "Deep Learning from Scratch 2" (Saitou), chapters 5-6, with the
book's row convention: x (N, T, D), W_x (D, G*H), W_h (H, G*H), b (G*H,), where G is the
number of fused gates. The input projection x W_x + b is computed for all steps in one
matmul before the loop; each step then adds h_{t-1} W_h. Every step runs inside
`ta.scope("t=<t>")` and names its hidden state `h_<t>`, so a drawn graph shows the unrolled
network one cluster per step.

The layers are stateless: the state goes in as `h0` and comes out as the second result.
Truncated BPTT is explicit: feed the last state of one chunk into the next through
`detach_state`, which cuts the graph there:

    state = None
    for chunk in chunks:                  # chunk: (N, T, D)
        hs, state = lstm(chunk, state)
        loss = ...; loss.backward(); opt.step()
        state = detach_state(state)
"""

from __future__ import annotations

import numpy as np

from ..autograd import scope
from ..creation import stack
from ..tensor import Tensor
from .layers import init_normal, init_zeros
from .module import Module


def detach_state(state):
    """A recurrent state (a Tensor, a tuple of them, or None) cut from its graph, for truncated BPTT."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(detach_state(s) for s in state)
    return state.detach()


class _Recurrent(Module):
    """Shared parameters and checks: W_x (D, G*H), W_h (H, G*H), b (G*H,), G gates fused."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        G = self.gates
        self.W_x = init_normal((input_size, G * hidden_size), 1 / np.sqrt(input_size))
        self.W_h = init_normal((hidden_size, G * hidden_size), 1 / np.sqrt(hidden_size))
        self.b = init_zeros((G * hidden_size,))

    def _project(self, x: Tensor) -> Tensor:
        """Check x (N, T, D) and return x W_x + b for every step at once: (N, T, G*H)."""
        name = type(self).__name__
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}: input must be a Tensor of shape (N, T, {self.input_size})")
        if x.ndim != 3 or x.shape[2] != self.input_size or x.shape[1] == 0:
            raise ValueError(f"{name}: input of shape {x.shape} must be (N, T, {self.input_size}) with T >= 1")
        return x @ self.W_x + self.b

    def _check_state(self, h, N, what="h0"):
        if h is not None and (not isinstance(h, Tensor) or h.shape != (N, self.hidden_size)):
            shape = h.shape if isinstance(h, Tensor) else type(h).__name__
            raise ValueError(f"{type(self).__name__}: {what} of shape {shape} must be ({N}, {self.hidden_size})")

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}"


class RNN(_Recurrent):
    """Elman RNN: h_t = tanh(h_{t-1} W_h + x_t W_x + b); x (N, T, D) -> (hs (N, T, H), h_T (N, H))."""

    def forward(self, x: Tensor, h0: Tensor | None = None):
        xw = self._project(x)  # (N, T, H)
        N, T, _ = xw.shape
        self._check_state(h0, N)
        h, hs = h0, []
        for t in range(T):
            with scope(f"t={t}"):
                a = xw[:, t] if h is None else xw[:, t] + h @ self.W_h  # h0 = 0 adds nothing
                h = a.tanh()
                h.name = f"h_{t}"
            hs.append(h)
        return stack(hs, axis=1), h


class LSTM(_Recurrent):
    """LSTM with fused gates in the book's order [f, g, i, o] along the last axis of W_x, W_h, b.

    a = x_t W_x + h_{t-1} W_h + b;  f, i, o = sigmoid(a_f, a_i, a_o);  g = tanh(a_g);
    c_t = f * c_{t-1} + g * i;  h_t = o * tanh(c_t).
    forward(x (N, T, D), h0=(h, c) or None) -> (hs (N, T, H), (h_T, c_T)); a bare h0 Tensor
    starts the cell state at zero.
    """

    gates = 4

    def forward(self, x: Tensor, h0=None):
        xw = self._project(x)  # (N, T, 4H)
        N, T, _ = xw.shape
        H = self.hidden_size
        h, c = h0 if isinstance(h0, tuple) else (h0, None)
        self._check_state(h, N)
        self._check_state(c, N, "c0")
        hs = []
        for t in range(T):
            with scope(f"t={t}"):
                a = xw[:, t] if h is None else xw[:, t] + h @ self.W_h  # (N, 4H)
                s = a.sigmoid()  # one op for the three sigmoid gates (its g block goes unused)
                f, i, o = s[:, :H], s[:, 2 * H : 3 * H], s[:, 3 * H :]
                g = a[:, H : 2 * H].tanh()
                c = g * i if c is None else f * c + g * i  # c0 = 0: the forget term vanishes
                c.name = f"c_{t}"
                h = o * c.tanh()
                h.name = f"h_{t}"
            hs.append(h)
        return stack(hs, axis=1), (h, c)


class GRU(_Recurrent):
    """GRU with fused gates in the order [z, r, h~] along the last axis of W_x, W_h, b.

    z = sigmoid(x_t W_xz + h W_hz + b_z);  r = sigmoid(x_t W_xr + h W_hr + b_r);
    h~ = tanh(x_t W_xh + (r * h) W_hh + b_h);  h_t = (1 - z) * h_{t-1} + z * h~.
    forward(x (N, T, D), h0=None) -> (hs (N, T, H), h_T (N, H)).
    """

    gates = 3

    def forward(self, x: Tensor, h0: Tensor | None = None):
        xw = self._project(x)  # (N, T, 3H)
        N, T, _ = xw.shape
        H = self.hidden_size
        self._check_state(h0, N)
        h, hs = h0, []
        if T > 1 or h is not None:
            W_zr, W_hh = self.W_h[:, : 2 * H], self.W_h[:, 2 * H :]  # sliced once, used every step
        for t in range(T):
            with scope(f"t={t}"):
                if h is None:  # h0 = 0: no recurrent terms, and h_t = z * h~
                    zr = xw[:, t, : 2 * H].sigmoid()
                    hh = xw[:, t, 2 * H :].tanh()
                    h = zr[:, :H] * hh
                else:
                    zr = (xw[:, t, : 2 * H] + h @ W_zr).sigmoid()  # (N, 2H)
                    hh = (xw[:, t, 2 * H :] + (zr[:, H:] * h) @ W_hh).tanh()
                    h = h + zr[:, :H] * (hh - h)
                h.name = f"h_{t}"
            hs.append(h)
        return stack(hs, axis=1), h
