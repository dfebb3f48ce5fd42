"""Gradient flow through time: how much gradient reaches each hidden state h_t, and why.

Small unrolled recurrent nets written with engine ops (a tanh RNN and an LSTM, N=1, row
vectors as in DLFS2 ch. 5-6), the per-step Jacobians dh_t/dh_{t-1} computed with the engine
(one backward per output element), and their largest singular values (Pascanu et al. 2013).
"""

from __future__ import annotations

import numpy as np

from .autograd import scope
from .creation import concat
from .tensor import Tensor


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


def unroll_tanh_rnn(T=30, H=8, D=None, radius=None, seed=0, dtype=np.float64, clip=None):
    """Unroll h_t = tanh(h_{t-1} W_h + x_t W_x + b) for T steps (N=1, row vectors).

    Returns (loss, hs, params): loss = sum(h_T), hs the list of T hidden states (1, H), each
    named `h_t` and made inside `scope("t=..")`, params a dict of the leaf tensors. With `clip`,
    a hook rescales the gradient arriving at each h_t to norm at most `clip` during backward.
    """
    D = D or H
    W_h, W_x, xs = _tanh_rnn_arrays(T, H, D, radius, seed)
    params = {
        "W_x": Tensor(W_x.astype(dtype), requires_grad=True, name="W_x"),
        "W_h": Tensor(W_h.astype(dtype), requires_grad=True, name="W_h"),
        "b": Tensor(np.zeros(H, dtype), requires_grad=True, name="b"),
    }
    xs = xs.astype(dtype)
    h = Tensor(np.zeros((1, H), dtype), name="h_0")
    hs = []
    for t in range(1, T + 1):
        with scope(f"t={t}"):
            h = (h @ params["W_h"] + Tensor(xs[t - 1], name=f"x_{t}") @ params["W_x"] + params["b"]).tanh()
        h.name = f"h_{t}"
        hs.append(h.retain_grad())
        if clip is not None:
            h.register_hook(clip_hook(clip))
    return hs[-1].sum(), hs, params


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
    """Unroll an LSTM cell for T steps (N=1, row vectors), gates fused in one (D+H, 4H) product.

    Gate order along the last axis: input i, forget f, candidate g, output o;
    c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t). Returns (loss, hs, params) like
    `unroll_tanh_rnn`; the cell states are `params["cs"]` (retained for their gradients).
    """
    D = D or H
    W_x, W_h, b, xs = _lstm_arrays(T, H, D, seed, forget_bias)
    params = {
        "W_x": Tensor(W_x.astype(dtype), requires_grad=True, name="W_x"),
        "W_h": Tensor(W_h.astype(dtype), requires_grad=True, name="W_h"),
        "b": Tensor(b.astype(dtype), requires_grad=True, name="b"),
    }
    xs = xs.astype(dtype)
    h = Tensor(np.zeros((1, H), dtype), name="h_0")
    c = Tensor(np.zeros((1, H), dtype), name="c_0")
    hs, cs = [], []
    for t in range(1, T + 1):
        with scope(f"t={t}"):
            h, c = lstm_step(h, c, Tensor(xs[t - 1], name=f"x_{t}"), params)
        h.name, c.name = f"h_{t}", f"c_{t}"
        hs.append(h.retain_grad())
        cs.append(c.retain_grad())
    params["cs"] = cs
    return hs[-1].sum(), hs, params


def _lstm_arrays(T, H, D, seed, forget_bias):
    rng = np.random.default_rng(seed)
    W_x = rng.standard_normal((D, 4 * H)) / np.sqrt(D)
    W_h = rng.standard_normal((H, 4 * H)) / np.sqrt(H)
    b = np.zeros(4 * H)
    b[H : 2 * H] = forget_bias  # forget gate open at the start: the cell state carries the gradient
    return W_x, W_h, b, rng.standard_normal((T, 1, D))


def lstm_spectra(T=30, H=8, D=None, seed=0, forget_bias=1.0):
    """(per_step, product) spectra of d(h_t, c_t)/d(h_{t-1}, c_{t-1}) for the LSTM of `unroll_lstm`."""
    D = D or H
    W_x, W_h, b, xs = _lstm_arrays(T, H, D, seed, forget_bias)
    params = {"W_x": Tensor(W_x), "W_h": Tensor(W_h), "b": Tensor(b)}
    return jacobian_spectra(lstm_step_jacobians(params, xs[:, 0, :], H))


def lstm_step(h, c, x, params):
    """One LSTM step: (1, H), (1, H), (1, D) -> h_t (1, H), c_t (1, H); gate order i, f, g, o."""
    H = h.shape[-1]
    z = h @ params["W_h"] + x @ params["W_x"] + params["b"]  # (1, 4H)
    i, f = z[:, :H].sigmoid(), z[:, H : 2 * H].sigmoid()
    g, o = z[:, 2 * H : 3 * H].tanh(), z[:, 3 * H :].sigmoid()
    c = f * c + i * g
    return o * c.tanh(), c


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


def rnn_step_jacobians(W_h, W_x, b, xs, h0=None):
    """dh_t/dh_{t-1} of h_t = tanh(h_{t-1} W_h + x_t W_x + b) for each step: list of (H, H).

    xs (T, D); the states are run forward first, then each step's Jacobian comes from the engine.
    """
    W_h, W_x, b = (Tensor(np.asarray(a, dtype=np.float64)) for a in (W_h, W_x, b))
    H = W_h.shape[0]
    h = np.zeros((1, H)) if h0 is None else np.asarray(h0, dtype=np.float64).reshape(1, H)
    out = []
    for x in np.asarray(xs, dtype=np.float64):
        xt = Tensor(x.reshape(1, -1))

        def step(hp, xt=xt):
            return (hp @ W_h + xt @ W_x + b).tanh()

        out.append(jacobian(step, h))
        h = np.tanh(h @ W_h.data + xt.data @ W_x.data + b.data)
    return out


def lstm_step_jacobians(params, xs, H):
    """d(h_t, c_t)/d(h_{t-1}, c_{t-1}) of the LSTM for each step: list of (2H, 2H)."""
    p = {k: Tensor(np.asarray(params[k].data, dtype=np.float64)) for k in ("W_h", "W_x", "b")}
    state = np.zeros((1, 2 * H))
    out = []
    for x in np.asarray(xs, dtype=np.float64):
        xt = Tensor(x.reshape(1, -1))

        def step(s, xt=xt):
            h, c = lstm_step(s[:, :H], s[:, H:], xt, p)
            return concat([h, c], axis=1)

        out.append(jacobian(step, state))
        h, c = lstm_step(Tensor(state[:, :H]), Tensor(state[:, H:]), xt, p)
        state = np.concatenate([h.data, c.data], axis=1)
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
