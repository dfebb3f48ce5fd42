"""Check hand-written layers in the style of "Deep Learning from Scratch 2" against central differences.

Each layer keeps `params` and `grads` (lists of arrays), a `forward` that caches what `backward`
needs, and a `backward(dout)` that returns the input gradients and writes the parameter
gradients into `grads` in place. Point `check_layer` at your own layers the same way.

    python examples/check_handwritten_layers.py
"""

import numpy as np

from tinygrad_attn.testing import GradcheckError, check_layer, check_vjp


def softmax(x):
    """Softmax over the last axis: (..., T) -> (..., T)."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class Affine:
    """out = x W + b: x (N, D), W (D, H), b (H,) -> (N, H)."""

    def __init__(self, W, b):
        self.params = [W, b]
        self.grads = [np.zeros_like(W), np.zeros_like(b)]

    def forward(self, x):
        self.x = x
        W, b = self.params
        return x @ W + b

    def backward(self, dout):
        W, _ = self.params
        self.grads[0][...] = self.x.T @ dout
        self.grads[1][...] = dout.sum(axis=0)
        return dout @ W.T


class WrongBiasAffine(Affine):
    """Affine whose db forgets that every row of the batch used b: it takes the mean, not the sum."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.grads[1][...] = dout.mean(axis=0)
        return dx


class RNNCell:
    """h_next = tanh(h_prev W_h + x W_x + b): x (N, D), h_prev (N, H) -> (N, H)."""

    def __init__(self, Wx, Wh, b):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]

    def forward(self, x, h_prev):
        Wx, Wh, b = self.params
        h_next = np.tanh(h_prev @ Wh + x @ Wx + b)
        self.cache = (x, h_prev, h_next)
        return h_next

    def backward(self, dh_next):
        Wx, Wh, _ = self.params
        x, h_prev, h_next = self.cache
        dt = dh_next * (1 - h_next**2)  # through tanh
        self.grads[0][...] = x.T @ dt
        self.grads[1][...] = h_prev.T @ dt
        self.grads[2][...] = dt.sum(axis=0)
        return dt @ Wx.T, dt @ Wh.T


class Attention:
    """Dot-product attention of a decoder state over encoder states.

    hs (N, T, H), h (N, H) -> context c (N, H) and weights a (N, T); two outputs, so
    backward takes two upstream gradients (dc, da).
    """

    params, grads = [], []

    def forward(self, hs, h):
        a = softmax(np.einsum("nth,nh->nt", hs, h))  # (N, T)
        c = np.einsum("nt,nth->nh", a, hs)  # (N, H)
        self.cache = (hs, h, a)
        return c, a

    def backward(self, dc, da):
        hs, h, a = self.cache
        da = da + np.einsum("nh,nth->nt", dc, hs)  # a reaches the loss directly and through c
        ds = a * (da - (da * a).sum(axis=1, keepdims=True))  # through softmax
        dhs = a[:, :, None] * dc[:, None, :] + ds[:, :, None] * h[:, None, :]
        dh = np.einsum("nt,nth->nh", ds, hs)
        return dhs, dh


def affine_forward(x, W, b):
    """CS231n style: returns (out, cache)."""
    return x @ W + b, (x, W)


def affine_backward(dout, cache):
    """CS231n style: returns (dx, dW, db)."""
    x, W = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def main():
    rng = np.random.default_rng(0)
    N, T, D, H = 2, 3, 4, 5
    x, h = rng.standard_normal((N, D)), rng.standard_normal((N, H))
    hs = rng.standard_normal((N, T, H))
    W, b = rng.standard_normal((D, H)), rng.standard_normal(H)

    print("Affine:", check_layer(Affine(W.copy(), b.copy()), x))
    cell = RNNCell(rng.standard_normal((D, H)) * 0.5, rng.standard_normal((H, H)) * 0.5, np.zeros(H))
    print("RNNCell:", check_layer(cell, x, h))
    print("Attention:", check_layer(Attention(), hs, h))
    print("affine_forward/affine_backward:", check_vjp(affine_forward, affine_backward, x, W, b))
    # float32 layers get float32's step (4.9e-3) and tolerances
    cell32 = RNNCell(*[p.astype(np.float32) for p in cell.params])
    print("RNNCell in float32:", check_layer(cell32, x.astype(np.float32), h.astype(np.float32)))
    try:
        check_layer(WrongBiasAffine(W.copy(), b.copy()), x)
        print("WrongBiasAffine: passed (it should not)")
    except GradcheckError as e:
        print("WrongBiasAffine fails as it should:")
        print(" ", e)


if __name__ == "__main__":
    main()
