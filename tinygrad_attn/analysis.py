"""Gradient flow through time: how much gradient reaches each hidden state h_t."""

from __future__ import annotations

import numpy as np

from .autograd import scope
from .tensor import Tensor


def scaled_to_radius(W, radius):
    """W rescaled so its spectral radius (largest |eigenvalue|) is `radius`: (H, H) -> (H, H)."""
    W = np.asarray(W, dtype=np.float64)
    rho = np.max(np.abs(np.linalg.eigvals(W)))
    return W * (radius / rho)


def unroll_tanh_rnn(T=30, H=8, D=None, radius=None, seed=0, dtype=np.float64):
    """Unroll h_t = tanh(h_{t-1} W_h + x_t W_x + b) for T steps (N=1, row vectors).

    Returns (loss, hs, params): loss = sum(h_T), hs the list of T hidden states (1, H), each
    named `h_t` and made inside `scope("t=..")`, params a dict of the leaf tensors.
    """
    D = D or H
    rng = np.random.default_rng(seed)
    W_h = rng.standard_normal((H, H)) / np.sqrt(H)
    if radius is not None:
        W_h = scaled_to_radius(W_h, radius)
    params = {
        "W_x": Tensor((rng.standard_normal((D, H)) / np.sqrt(D)).astype(dtype), requires_grad=True, name="W_x"),
        "W_h": Tensor(W_h.astype(dtype), requires_grad=True, name="W_h"),
        "b": Tensor(np.zeros(H, dtype), requires_grad=True, name="b"),
    }
    xs = rng.standard_normal((T, 1, D)).astype(dtype)
    h = Tensor(np.zeros((1, H), dtype), name="h_0")
    hs = []
    for t in range(1, T + 1):
        with scope(f"t={t}"):
            h = (h @ params["W_h"] + Tensor(xs[t - 1], name=f"x_{t}") @ params["W_x"] + params["b"]).tanh()
        h.name = f"h_{t}"
        hs.append(h.retain_grad())
    return hs[-1].sum(), hs, params


def gradient_norms(hs):
    """||dL/dh_t|| for each hidden state after backward (NaN where no gradient arrived)."""
    return np.array([np.linalg.norm(h.grad.data) if h.grad is not None else np.nan for h in hs])
