"""Optimizers (SGD, Momentum, Adam) and gradient-norm clipping, updating parameters in place.

The update rules follow "Deep Learning from Scratch" (Saitou), chapter 6, and Kingma & Ba,
"Adam: A Method for Stochastic Optimization" (2015). Parameters without a gradient are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .tensor import Tensor


class Optimizer:
    """Base class: holds the parameter list; subclasses define `_update(i, p, g)` on arrays."""

    def __init__(self, params: Iterable[Tensor], lr: float):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        for p in self.params:
            if not isinstance(p, Tensor) or not p.requires_grad:
                raise TypeError(f"{type(self).__name__}: every parameter must be a Tensor that requires grad")
        if lr <= 0:
            raise ValueError(f"{type(self).__name__}: lr must be positive, got {lr}")
        self.lr = lr

    def zero_grad(self):
        """Drop every parameter's gradient."""
        for p in self.params:
            p.grad = None

    def step(self):
        """Apply one update to every parameter that has a gradient."""
        for i, p in enumerate(self.params):
            if p.grad is not None:
                self._update(i, p.data, p.grad.data)
                p._bump_version()  # a graph that saved the old weight can no longer backward

    def _update(self, i: int, p: np.ndarray, g: np.ndarray):  # pragma: no cover - abstract
        raise NotImplementedError


class SGD(Optimizer):
    """p <- p - lr * g."""

    def __init__(self, params, lr: float = 0.01):
        super().__init__(params, lr)

    def _update(self, i, p, g):
        p -= self.lr * g


class Momentum(Optimizer):
    """v <- momentum * v - lr * g;  p <- p + v."""

    def __init__(self, params, lr: float = 0.01, momentum: float = 0.9):
        super().__init__(params, lr)
        self.momentum = momentum
        self.v = [None] * len(self.params)

    def _update(self, i, p, g):
        if self.v[i] is None:
            self.v[i] = np.zeros_like(p)
        v = self.v[i]
        v *= self.momentum
        v -= self.lr * g
        p += v


class Adam(Optimizer):
    """m, v running moments of g and g^2; p <- p - lr * sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps)."""

    def __init__(self, params, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-7):
        super().__init__(params, lr)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.t = 0
        self.m = [None] * len(self.params)
        self.v = [None] * len(self.params)
        self._scratch = [None] * len(self.params)  # per parameter: buffers for the update's temporaries

    def step(self):
        self.t += 1
        self._lr_t = self.lr * np.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
        super().step()

    def _update(self, i, p, g):
        if self.m[i] is None:
            self.m[i], self.v[i] = np.zeros_like(p), np.zeros_like(p)
        m, v = self.m[i], self.v[i]
        if g.dtype != p.dtype or not all(type(x) in (float, int) for x in (self.beta1, self.beta2, self.eps)):
            m += (1 - self.beta1) * (g - m)
            v += (1 - self.beta2) * (g * g - v)
            p -= (self._lr_t * m / (np.sqrt(v) + self.eps)).astype(p.dtype, copy=False)
            return
        # the same operations in the same order as above, written into two buffers kept
        # per parameter; lr_t is a float64 numpy scalar, so lr_t * m is computed in float64
        if self._scratch[i] is None:
            self._scratch[i] = np.empty_like(p), np.empty(p.shape, np.result_type(self._lr_t, p))
        tmp, wide = self._scratch[i]
        np.subtract(g, m, out=tmp)
        tmp *= 1 - self.beta1
        m += tmp
        np.multiply(g, g, out=tmp)
        tmp -= v
        tmp *= 1 - self.beta2
        v += tmp
        np.multiply(self._lr_t, m, out=wide)
        np.sqrt(v, out=tmp)
        tmp += self.eps
        np.divide(wide, tmp, out=wide)
        if wide.dtype != p.dtype:
            np.copyto(tmp, wide, casting="same_kind")  # rounded to p's dtype first, as astype does
            wide = tmp
        p -= wide


def clip_grad_norm_(params: Iterable[Tensor], max_norm: float) -> float:
    """Scale all gradients in place so their joint L2 norm is at most max_norm; returns the norm before."""
    grads = [p.grad.data for p in params if p.grad is not None]
    total = float(np.sqrt(sum(float(np.sum(_squared64(g))) for g in grads)))
    if total > max_norm:
        rate = max_norm / (total + 1e-6)
        for g in grads:
            g *= rate
    return total


def _squared64(g):
    """g ** 2 in float64, in one new buffer (g.astype(float64) ** 2 makes two)."""
    g64 = g.astype(np.float64)
    return np.multiply(g64, g64, out=g64)


class CosineDecay:
    """Anneal an optimizer's lr from its value at construction to `min_lr`, ending after `total_steps` calls.

    The lr stays put for the first `start` steps, then follows half a cosine over the remaining
    n = total_steps - start: lr_k = min_lr + (lr_0 - min_lr) * (1 + cos(pi * (k - start) / n)) / 2
    after the k-th `step()` (Loshchilov & Hutter, "SGDR", 2017, without restarts); past
    `total_steps` it stays at `min_lr`. Call `step()` once after each `opt.step()`.
    """

    def __init__(self, optimizer: Optimizer, total_steps: int, min_lr: float = 0.0, start: int = 0):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"CosineDecay: expected an Optimizer, got {type(optimizer).__name__}")
        if int(total_steps) != total_steps or total_steps < 1:
            raise ValueError(f"CosineDecay: total_steps must be a positive integer, got {total_steps}")
        if int(start) != start or not 0 <= start < total_steps:
            raise ValueError(f"CosineDecay: start must be an integer in [0, total_steps={total_steps}), got {start}")
        if not 0 <= min_lr <= optimizer.lr:
            raise ValueError(f"CosineDecay: min_lr must be in [0, lr={optimizer.lr}], got {min_lr}")
        self.optimizer, self.total_steps, self.min_lr, self.start = optimizer, int(total_steps), min_lr, int(start)
        self.base_lr = optimizer.lr
        self.k = 0

    def step(self) -> float:
        """Advance one step and set the optimizer's lr; returns the new lr."""
        self.k += 1
        if self.k <= self.start:
            lr = self.base_lr  # held exactly, not base - min + min
        else:
            frac = min(self.k - self.start, self.total_steps - self.start) / (self.total_steps - self.start)
            lr = self.min_lr + (self.base_lr - self.min_lr) * 0.5 * (1 + np.cos(np.pi * frac))
        self.optimizer.lr = float(lr)
        return self.optimizer.lr
