"""Gradient flow through time: how much gradient reaches each hidden state h_t, and why.

The studied networks are the library's own `nn.RNN` and `nn.LSTM` (so what is studied is
what is trained), run in their per-step form (the lecture's graph: h_0, then steps t=1..T,
N=1, row vectors as in DLFS2 ch. 5-6) with weights drawn here from a seed. The per-step
Jacobians dh_t/dh_{t-1} come from the engine (one backward per output element), and their
largest singular values show the vanishing or exploding product (Pascanu et al. 2013).
"""

from __future__ import annotations

import numpy as np

from ..creation import concat
from ..mode import no_grad
from ..nn.recurrent import LSTM, RNN
from ..tensor import Tensor


def scaled_to_radius(W, radius):
    """W rescaled so its spectral radius (largest |eigenvalue|) is `radius`: (H, H) -> (H, H)."""
    W = np.asarray(W, dtype=np.float64)
    rho = np.max(np.abs(np.linalg.eigvals(W)))
    return W * (radius / rho)


def _tanh_rnn_arrays(T, H, D, radius, seed):
    """W_h (H, H), W_x (D, H), xs (T, 1, D) in float64, drawn in a fixed order from `seed`."""
    rng = np.random.default_rng(seed)
    W_h = rng.standard_normal((H, H)) / np.sqrt(H)
    if radius is not None:
        W_h = scaled_to_radius(W_h, radius)
    W_x = rng.standard_normal((D, H)) / np.sqrt(D)
    xs = rng.standard_normal((T, 1, D))
    return W_h, W_x, xs


def _unroll(layer, xs, dtype, clip=None):
    """Run `layer` per step over xs (T, 1, D); retain every step's state; a clip hook on each h_t."""
    x = Tensor(xs.transpose(1, 0, 2).astype(dtype), name="x")  # (1, T, D)
    states = layer.unroll(x)
    hs = [s[0] if isinstance(s, tuple) else s for s in states]
    for h in hs:
        h.retain_grad()
        if clip is not None:
            h.register_hook(clip_hook(clip))
    return hs[-1].sum(), hs, states


def unroll_tanh_rnn(T=30, H=8, D=None, radius=None, seed=0, dtype=np.float64, clip=None):
    """Unroll `nn.RNN` per step, h_t = tanh(h_{t-1} W_h + x_t W_x + b), for T steps (N=1, row vectors).

    Returns (loss, hs, params): loss = sum(h_T), hs the list of T hidden states (1, H), each
    named `h_t` and made inside `scope("t=..")`, params a dict of the leaf tensors. With `clip`,
    a hook rescales the gradient arriving at each h_t to norm at most `clip` during backward.
    """
    D = D or H
    W_h, W_x, xs = _tanh_rnn_arrays(T, H, D, radius, seed)
    rnn = RNN.from_weights(W_x.astype(dtype), W_h.astype(dtype), np.zeros(H, dtype), per_step=True)
    loss, hs, _ = _unroll(rnn, xs, dtype, clip)
    return loss, hs, dict(rnn.named_parameters())


def tanh_rnn_spectra(T=30, H=8, D=None, radius=None, seed=0):
    """(per_step, product) Jacobian spectra of the RNN that `unroll_tanh_rnn` builds with the same arguments."""
    D = D or H
    W_h, W_x, xs = _tanh_rnn_arrays(T, H, D, radius, seed)
    return jacobian_spectra(rnn_step_jacobians(W_h, W_x, np.zeros(H), xs[:, 0, :]))


def gradient_norms(hs):
    """||dL/dh_t|| for each hidden state after backward (NaN where no gradient arrived)."""
    return np.array([np.linalg.norm(h.grad.data) if h.grad is not None else np.nan for h in hs])


def clip_hook(max_norm):
    """A gradient hook that rescales the gradient to norm `max_norm` when it is larger."""

    def hook(g):
        n = float(np.linalg.norm(g.data))
        return g * (max_norm / n) if n > max_norm else None

    return hook


def unroll_lstm(T=30, H=8, D=None, seed=0, forget_bias=1.0, dtype=np.float64):
    """Unroll `nn.LSTM` per step for T steps (N=1, row vectors), forget-gate bias `forget_bias`.

    Returns (loss, hs, params) like `unroll_tanh_rnn`; the cell states c_1..c_T are
    `params["cs"]` (retained for their gradients).
    """
    D = D or H
    W_x, W_h, b, xs = _lstm_arrays(T, H, D, seed, forget_bias)
    lstm = LSTM.from_weights(W_x.astype(dtype), W_h.astype(dtype), b.astype(dtype), per_step=True)
    loss, hs, states = _unroll(lstm, xs, dtype)
    params = dict(lstm.named_parameters())
    params["cs"] = [c.retain_grad() for _, c in states]
    return loss, hs, params


def _lstm_arrays(T, H, D, seed, forget_bias):
    """W_x (D, 4H), W_h (H, 4H), b (4H,) in nn.LSTM's gate layout, and xs (T, 1, D), from `seed`."""
    rng = np.random.default_rng(seed)
    W_x = rng.standard_normal((D, 4 * H)) / np.sqrt(D)
    W_h = rng.standard_normal((H, 4 * H)) / np.sqrt(H)
    b = np.zeros(4 * H)
    b[LSTM.gate_columns("f", H)] = forget_bias  # forget gate open at the start: the cell state carries the gradient
    return W_x, W_h, b, rng.standard_normal((T, 1, D))


def lstm_spectra(T=30, H=8, D=None, seed=0, forget_bias=1.0):
    """(per_step, product) spectra of d(h_t, c_t)/d(h_{t-1}, c_{t-1}) for the LSTM of `unroll_lstm`."""
    D = D or H
    W_x, W_h, b, xs = _lstm_arrays(T, H, D, seed, forget_bias)
    return jacobian_spectra(lstm_step_jacobians({"W_x": W_x, "W_h": W_h, "b": b}, xs[:, 0, :], H))


def jacobian(fn, x):
    """d fn(x) / d x with the engine, one backward per output element: (*out, *in) flattened to (M, N)."""
    x = Tensor(np.asarray(x.data if isinstance(x, Tensor) else x, dtype=np.float64), requires_grad=True)
    y = fn(x)
    rows = []
    for k in range(y.data.size):
        seed_ = np.zeros(y.shape)
        seed_.flat[k] = 1.0
        x.grad = None
        y.backward(grad=seed_, retain_graph=True)
        rows.append(x.grad.data.reshape(-1).copy())
    return np.stack(rows)


def _f64(a):
    return np.asarray(a.data if isinstance(a, Tensor) else a, dtype=np.float64)


def rnn_step_jacobians(W_h, W_x, b, xs, h0=None):
    """dh_t/dh_{t-1} of `nn.RNN`'s step h_t = tanh(h_{t-1} W_h + x_t W_x + b), t = 1..T: list of (H, H).

    xs (T, D); the states are run forward first, then each step's Jacobian comes from the engine.
    """
    rnn = RNN.from_weights(_f64(W_x), _f64(W_h), _f64(b))
    H = rnn.hidden_size
    h = np.zeros((1, H)) if h0 is None else _f64(h0).reshape(1, H)
    out = []
    for x in _f64(xs):
        xt = Tensor(x.reshape(1, -1))
        out.append(jacobian(lambda hp, xt=xt: rnn.step(xt, hp), h))
        with no_grad():
            h = rnn.step(xt, Tensor(h)).data
    return out


def lstm_step_jacobians(params, xs, H):
    """d(h_t, c_t)/d(h_{t-1}, c_{t-1}) of `nn.LSTM`'s step for t = 1..T: list of (2H, 2H).

    params: W_x (D, 4H), W_h (H, 4H), b (4H,) (arrays or Tensors) in nn.LSTM's gate layout; xs (T, D).
    """
    lstm = LSTM.from_weights(*(_f64(params[k]) for k in ("W_x", "W_h", "b")))
    if lstm.hidden_size != H:
        raise ValueError(f"lstm_step_jacobians: H={H} but W_h has shape {lstm.W_h.shape}")
    state = np.zeros((1, 2 * H))
    out = []
    for x in _f64(xs):
        xt = Tensor(x.reshape(1, -1))

        def step(s, xt=xt):
            return concat(list(lstm.step(xt, (s[:, :H], s[:, H:]))), axis=1)

        out.append(jacobian(step, state))
        with no_grad():
            state = step(Tensor(state)).data
    return out


def jacobian_spectra(jacobians):
    """Largest singular values from step Jacobians J_t = dh_t/dh_{t-1} (t = 1..T, each (H, H)).

    Returns (per_step, product), both (T,): per_step[t-1] = sigma_max(J_t) and
    product[t-1] = sigma_max(dh_T/dh_{t-1}) = sigma_max(J_T ... J_t), the factor by which a
    gradient can grow (> 1) or shrink (< 1) on its way back from h_T to h_{t-1}.
    """
    T = len(jacobians)
    per_step = np.array([np.linalg.norm(J, 2) for J in jacobians])
    product = np.empty(T)
    P = np.eye(jacobians[-1].shape[0])
    for k in range(T - 1, -1, -1):
        P = P @ jacobians[k]
        product[k] = np.linalg.norm(P, 2)
    return per_step, product
