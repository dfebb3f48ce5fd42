"""Recurrent layers over whole sequences: RNN, LSTM, GRU (batch-first, row vectors).

The equations are those of "Deep Learning from Scratch 2" (Saitou), chapters 5-6, with the
book's row convention: x (N, T, D), W_x (D, G*H), W_h (H, G*H), b (G*H,), where G is the
number of fused gates. Steps are numbered as the lecture numbers them: h_0 is the initial
state, step t = 1..T runs inside `ta.scope("t=<t>")` and names the state it computes `h_<t>`
(and `c_<t>` for the LSTM), so a drawn graph shows the unrolled network one cluster per step.

Two forms give the same numbers (up to rounding):
- fast (default, for training): x W_x + b is computed for all steps in one matmul before the
  loop; each step then adds h_{t-1} W_h (and skips it when no initial state is given);
- per step (`per_step=True`, the lecture's figure 6-2): each step computes
  h_t = tanh(h_{t-1} W_h + x_t W_x + b) with its own MatMul nodes, from an initial state named
  `h_0` (zeros when none is given), its input slice named `x_<t>`.

`LSTM(..., fused=True)` runs each step's gate arithmetic as one `LSTMCell` node (ops/cells.py)
instead of thirteen, for training speed; once there is a state, the node takes h_{t-1} W_h in
too. The numbers agree up to rounding. The op-level cell stays the default, so drawn graphs
show every gate.

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
from ..ops.cells import LSTMCell
from ..tensor import Tensor
from .layers import init_normal, init_zeros
from .module import Module, Parameter


def detach_state(state):
    """A recurrent state (a Tensor, a tuple of them, or None) cut from its graph, for truncated BPTT."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(detach_state(s) for s in state)
    return state.detach()


class _Recurrent(Module):
    """Shared parameters, checks and the loop over steps: W_x (D, G*H), W_h (H, G*H), b (G*H,)."""

    gates = 1
    has_fused_cell = False  # LSTM: fused=True runs each step as one ops.cells.LSTMCell node

    def __init__(self, input_size: int, hidden_size: int, per_step: bool = False, fused: bool = False):
        super().__init__()
        self.input_size, self.hidden_size, self.per_step = input_size, hidden_size, per_step
        self.fused = self._check_fused(fused)
        G = self.gates
        self.W_x = init_normal((input_size, G * hidden_size), 1 / np.sqrt(input_size))
        self.W_h = init_normal((hidden_size, G * hidden_size), 1 / np.sqrt(hidden_size))
        self.b = init_zeros((G * hidden_size,))

    @classmethod
    def from_weights(cls, W_x, W_h, b, per_step: bool = False, fused: bool = False):
        """A layer holding copies of the arrays W_x (D, G*H), W_h (H, G*H), b (G*H,); draws no random numbers."""
        W_x, W_h, b = (np.array(a.data if isinstance(a, Tensor) else a) for a in (W_x, W_h, b))
        G, name = cls.gates, f"{cls.__name__}.from_weights"
        if W_h.ndim != 2 or W_h.shape[1] != G * W_h.shape[0]:
            raise ValueError(f"{name}: W_h of shape {W_h.shape} must be (H, {G}*H)")
        H = W_h.shape[0]
        if W_x.ndim != 2 or W_x.shape[1] != G * H or b.shape != (G * H,):
            raise ValueError(
                f"{name}: W_x of shape {W_x.shape} and b of shape {b.shape} must be (D, {G * H}) and ({G * H},)"
            )
        layer = cls.__new__(cls)
        Module.__init__(layer)
        layer.input_size, layer.hidden_size, layer.per_step = W_x.shape[0], H, per_step
        layer.fused = cls._check_fused(fused)
        layer.W_x, layer.W_h, layer.b = Parameter(W_x), Parameter(W_h), Parameter(b)
        return layer

    def unroll(self, x: Tensor, h0=None) -> list:
        """Run steps t = 1..T over x (N, T, D): the list of the T states (h_t (N, H); (h_t, c_t) for the LSTM)."""
        self._check_input(x)
        N, T, _ = x.shape
        state = self._initial_state(h0, N)
        if self.per_step:
            state = self._zero_state(state, N, np.result_type(x.dtype, self.W_x.dtype))
        else:  # the input projection of every step at once: (N, T, G*H), or time-major (T, N, G*H)
            # when fused, so that each step's slice, and its gradient, is one contiguous block
            xw = (x.transpose(1, 0, 2) if self.fused else x) @ self.W_x + self.b
            w = self._recurrent_weights()
        states = []
        for t in range(1, T + 1):
            with scope(f"t={t}"):
                if self.per_step:
                    x_t = x[:, t - 1]
                    x_t.name = f"x_{t}"
                    state = self.step(x_t, state)
                else:
                    state = self._fast_step(xw[t - 1] if self.fused else xw[:, t - 1], state, w)
            self._name(state, t)
            states.append(state)
        return states

    def forward(self, x: Tensor, h0=None):
        """x (N, T, D), h0 -> (hs (N, T, H), the last state)."""
        states = self.unroll(x, h0)
        hs = [s[0] if isinstance(s, tuple) else s for s in states]
        return stack(hs, axis=1), states[-1]

    @classmethod
    def _check_fused(cls, fused):
        if fused and not cls.has_fused_cell:
            raise ValueError(f"{cls.__name__}: fused=True exists for the LSTM only")
        return bool(fused)

    def _initial_state(self, h0, N):
        self._check_state(h0, N)
        return h0

    def _recurrent_weights(self):
        """What the fast form's steps multiply h_{t-1} by (computed once, before step 1)."""
        return self.W_h

    def _zero_state(self, h, N, dtype):
        """The per-step form always starts from a tensor named h_0 (zeros when no state is given)."""
        return Tensor(np.zeros((N, self.hidden_size), dtype), name="h_0") if h is None else h

    def _name(self, h, t):
        h.name = f"h_{t}"

    def _check_input(self, x):
        name = type(self).__name__
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}: input must be a Tensor of shape (N, T, {self.input_size})")
        if x.ndim != 3 or x.shape[2] != self.input_size or x.shape[1] == 0:
            raise ValueError(f"{name}: input of shape {x.shape} must be (N, T, {self.input_size}) with T >= 1")

    def _check_state(self, h, N, what="h0"):
        if h is not None and (not isinstance(h, Tensor) or h.shape != (N, self.hidden_size)):
            shape = h.shape if isinstance(h, Tensor) else type(h).__name__
            raise ValueError(f"{type(self).__name__}: {what} of shape {shape} must be ({N}, {self.hidden_size})")

    def extra_repr(self):
        flags = (", per_step=True" if self.per_step else "") + (", fused=True" if self.fused else "")
        return f"{self.input_size}, {self.hidden_size}" + flags


class RNN(_Recurrent):
    """Elman RNN: h_t = tanh(h_{t-1} W_h + x_t W_x + b); x (N, T, D) -> (hs (N, T, H), h_T (N, H))."""

    def step(self, x_t: Tensor, h: Tensor) -> Tensor:
        """One step in the lecture's form: x_t (N, D), h_{t-1} (N, H) -> h_t (N, H)."""
        return (h @ self.W_h + x_t @ self.W_x + self.b).tanh()

    def _fast_step(self, xw_t, h, W_h):
        return (xw_t if h is None else xw_t + h @ W_h).tanh()  # h0 = 0 adds nothing


class LSTM(_Recurrent):
    """LSTM with fused gates in the book's order [f, g, i, o] along the last axis of W_x, W_h, b.

    a = h_{t-1} W_h + x_t W_x + b;  f, i, o = sigmoid(a_f, a_i, a_o);  g = tanh(a_g);
    c_t = f * c_{t-1} + g * i;  h_t = o * tanh(c_t).
    forward(x (N, T, D), h0=(h, c) or None) -> (hs (N, T, H), (h_T, c_T)); a bare h0 Tensor
    starts the cell state at zero.
    """

    gates = 4
    has_fused_cell = True
    gate_order = ("f", "g", "i", "o")  # the blocks of H columns of W_x, W_h and b, in this order

    @classmethod
    def gate_columns(cls, gate: str, H: int) -> slice:
        """The columns of W_x, W_h, b (4H wide) that feed `gate` ("f", "g", "i" or "o")."""
        k = cls.gate_order.index(gate)
        return slice(k * H, (k + 1) * H)

    def step(self, x_t: Tensor, state) -> tuple:
        """One step in the lecture's form: x_t (N, D), (h_{t-1}, c_{t-1}) (N, H) each -> (h_t, c_t)."""
        h, c = state
        return self._cell(h @ self.W_h + x_t @ self.W_x + self.b, c)

    def _initial_state(self, h0, N):
        h, c = h0 if isinstance(h0, tuple) else (h0, None)
        self._check_state(h, N)
        self._check_state(c, N, "c0")
        return h, c

    def _zero_state(self, state, N, dtype):
        h, c = state
        shape = (N, self.hidden_size)
        h = Tensor(np.zeros(shape, dtype), name="h_0") if h is None else h
        return h, Tensor(np.zeros(shape, dtype), name="c_0") if c is None else c

    def _name(self, state, t):
        state[0].name, state[1].name = f"h_{t}", f"c_{t}"

    def _fast_step(self, xw_t, state, W_h):
        h, c = state
        if self.fused and h is not None and c is not None:  # the whole step, h W_h included, as one node
            hc = LSTMCell.apply(xw_t, c, h, W_h)  # [h_t, c_t] (N, 2H)
        else:
            a = xw_t if h is None else xw_t + h @ W_h
            if not self.fused:
                return self._cell(a, c)
            hc = LSTMCell.apply(a) if c is None else LSTMCell.apply(a, c)
        H = self.hidden_size
        return hc[:, :H], hc[:, H:]

    def _cell(self, a, c):
        """Gates from the pre-activation a (N, 4H) and c_{t-1} (N, H) or None (zero) -> (h_t, c_t)."""
        gate = lambda name: self.gate_columns(name, self.hidden_size)  # noqa: E731
        s = a.sigmoid()  # one op for the three sigmoid gates (its g block goes unused)
        f, i, o = s[:, gate("f")], s[:, gate("i")], s[:, gate("o")]
        g = a[:, gate("g")].tanh()
        c = g * i if c is None else f * c + g * i  # c0 = 0: the forget term vanishes
        return o * c.tanh(), c


class GRU(_Recurrent):
    """GRU with fused gates in the order [z, r, h~] along the last axis of W_x, W_h, b.

    z = sigmoid(x_t W_xz + h W_hz + b_z);  r = sigmoid(x_t W_xr + h W_hr + b_r);
    h~ = tanh(x_t W_xh + (r * h) W_hh + b_h);  h_t = (1 - z) * h_{t-1} + z * h~.
    forward(x (N, T, D), h0=None) -> (hs (N, T, H), h_T (N, H)).
    """

    gates = 3

    def step(self, x_t: Tensor, h: Tensor) -> Tensor:
        """One step in the lecture's form: x_t (N, D), h_{t-1} (N, H) -> h_t (N, H)."""
        H = self.hidden_size
        a = x_t @ self.W_x + self.b  # (N, 3H)
        zr = (h @ self.W_h[:, : 2 * H] + a[:, : 2 * H]).sigmoid()
        z, r = zr[:, :H], zr[:, H:]
        hh = ((r * h) @ self.W_h[:, 2 * H :] + a[:, 2 * H :]).tanh()
        return (1 - z) * h + z * hh

    def _recurrent_weights(self):
        H = self.hidden_size
        return self.W_h[:, : 2 * H], self.W_h[:, 2 * H :]  # sliced once, used by every step

    def _fast_step(self, xw_t, h, W):
        H = self.hidden_size
        if h is None:  # h0 = 0: no recurrent terms, and h_t = z * h~
            zr = xw_t[:, : 2 * H].sigmoid()
            return zr[:, :H] * xw_t[:, 2 * H :].tanh()
        W_zr, W_hh = W
        zr = (xw_t[:, : 2 * H] + h @ W_zr).sigmoid()  # (N, 2H)
        hh = (xw_t[:, 2 * H :] + (zr[:, H:] * h) @ W_hh).tanh()
        return h + zr[:, :H] * (hh - h)
