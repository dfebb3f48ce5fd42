"""Basic layers: Linear, Embedding, LayerNorm, Dropout (row vectors: y = x W + b).

Initialisation follows "Deep Learning from Scratch 2" (Saitou): weights ~ N(0, 1/fan_in),
biases zero, embeddings ~ N(0, 0.01^2).
"""

from __future__ import annotations

import numpy as np

from .. import creation
from .. import functional as F
from ..tensor import DEFAULT_DTYPE, Tensor
from .module import Module, Parameter


def init_normal(shape, std, dtype=DEFAULT_DTYPE) -> Parameter:
    """A Parameter of `shape` drawn from N(0, std^2) with the package generator (see `ta.seed`)."""
    return Parameter((creation.rng().standard_normal(shape) * std).astype(dtype))


def init_zeros(shape, dtype=DEFAULT_DTYPE) -> Parameter:
    """A Parameter of zeros."""
    return Parameter(np.zeros(shape, dtype))


def check_last_dim(layer: str, x: Tensor, size: int, what: str = "input"):
    """Raise a ValueError naming `layer` when x's last axis is not `size`."""
    if x.ndim == 0 or x.shape[-1] != size:
        raise ValueError(f"{layer}: {what} of shape {x.shape} must end in {size}")


class Linear(Module):
    """y = x W + b: x (..., in_features) -> (..., out_features); W (in, out), b (out,)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.W = init_normal((in_features, out_features), 1 / np.sqrt(in_features))
        self.b = init_zeros((out_features,)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        check_last_dim("Linear", x, self.in_features)
        y = x @ self.W
        return y if self.b is None else y + self.b

    def extra_repr(self):
        return f"{self.in_features}, {self.out_features}, bias={self.b is not None}"


class Embedding(Module):
    """Rows of W (V, D) picked by integer ids: (...) -> (..., D)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, std: float = 0.01):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.W = init_normal((num_embeddings, embedding_dim), std)

    def forward(self, ids) -> Tensor:
        return F.embedding(ids, self.W)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"


class LayerNorm(Module):
    """Normalise the last axis, then scale by `weight` and shift by `bias`: (..., D) -> (..., D)."""

    def __init__(self, normalized_shape: int, eps: float = 1e-5):
        super().__init__()
        self.normalized_shape, self.eps = normalized_shape, eps
        self.weight = Parameter(np.ones(normalized_shape, DEFAULT_DTYPE))
        self.bias = init_zeros((normalized_shape,))

    def forward(self, x: Tensor) -> Tensor:
        check_last_dim("LayerNorm", x, self.normalized_shape)
        return F.layer_norm(x, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}"


class Dropout(Module):
    """Zero each element with probability p while training, scale the rest by 1/(1-p); same shape."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0:
            return x
        return F.dropout(x, self.p, True)

    def extra_repr(self):
        return f"p={self.p}"
