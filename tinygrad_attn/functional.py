"""Functions composed from the primitive ops (import as F).

The composite ones (cross_entropy, mse_loss, layer_norm) note themselves as one call on their
output (`tinygrad_attn.calls`), so the explorer shows `cross_entropy` as one box, not its parts.
"""

from __future__ import annotations

import numpy as np

from . import creation
from .calls import composite
from .tensor import Tensor


def _t(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def softmax(x, axis=-1):
    """softmax along `axis` (same shape)."""
    return _t(x).softmax(axis)


def log_softmax(x, axis=-1):
    """log-softmax along `axis` (same shape)."""
    return _t(x).log_softmax(axis)


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over `axis`, computed stably."""
    return _t(x).logsumexp(axis, keepdims)


def relu(x):
    """max(x, 0) elementwise."""
    return _t(x).relu()


def tanh(x):
    """tanh elementwise."""
    return _t(x).tanh()


def sigmoid(x):
    """logistic sigmoid elementwise."""
    return _t(x).sigmoid()


def _int_array(op, targets, what="targets"):
    t = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{op}: {what} must be integers, got dtype {t.dtype} (shape {t.shape})")
    return t


@composite
def cross_entropy(logits, targets, ignore_index=None):
    """Mean of -log softmax(logits)[target]: logits (..., C), integer targets (...) -> scalar.

    Positions whose target equals `ignore_index` are left out of the sum and the count.
    """
    logits = _t(logits)
    t = _int_array("cross_entropy", targets)
    if logits.ndim < 1 or logits.shape[:-1] != t.shape:
        raise ValueError(
            f"cross_entropy: logits {logits.shape} need targets of shape {logits.shape[:-1]}, got {t.shape}"
        )
    C = logits.shape[-1]
    flat = t.reshape(-1)
    keep = flat != ignore_index if ignore_index is not None else None
    checked = flat[keep] if keep is not None else flat
    if checked.size and (checked.min() < 0 or checked.max() >= C):
        bad = checked[(checked < 0) | (checked >= C)][0]
        raise ValueError(f"cross_entropy: target {bad} out of range for {C} classes (logits {logits.shape})")
    lp = logits.log_softmax(-1).reshape(-1, C)
    if keep is None:
        return -lp[np.arange(flat.size), flat].mean()
    count = int(keep.sum())
    if count == 0:
        raise ValueError(f"cross_entropy: every target equals ignore_index={ignore_index}")
    rows = np.nonzero(keep)[0]
    return -lp[rows, flat[rows]].sum() * (1.0 / count)


@composite
def mse_loss(pred, target):
    """mean((pred - target)^2) over all elements -> scalar; shapes must match."""
    pred, target = _t(pred), _t(target)
    if pred.shape != target.shape:
        raise ValueError(f"mse_loss: prediction {pred.shape} and target {target.shape} differ")
    d = pred - target
    return (d * d).mean()


def embedding(indices, weight):
    """Rows of `weight` (V, D) picked by integer `indices` (...) -> (..., D)."""
    idx = _int_array("embedding", indices, "indices")
    V = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= V):
        bad = idx[(idx < 0) | (idx >= V)].reshape(-1)[0]
        raise IndexError(f"embedding: index {bad} out of range for a table of {V} rows {weight.shape}")
    return weight[idx]


@composite
def layer_norm(x, weight=None, bias=None, eps=1e-5):
    """Normalise the last axis to mean 0, variance 1, then scale and shift: (..., D) -> (..., D)."""
    x = _t(x)
    D = x.shape[-1]
    for nm, p in (("weight", weight), ("bias", bias)):
        if p is not None and p.shape != (D,):
            raise ValueError(f"layer_norm: {nm} of shape {p.shape} for input {x.shape}: need ({D},)")
    mu = x.mean(axis=-1, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(axis=-1, keepdims=True)
    y = xc / (var + eps).sqrt()
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def dropout(x, p=0.5, training=True, rng=None):
    """Zero each element with probability p and scale the rest by 1/(1-p); identity when not training."""
    if not 0 <= p < 1:
        raise ValueError(f"dropout: p must be in [0, 1), got {p}")
    x = _t(x)
    if not training or p == 0:
        return x
    rng = rng or creation.rng()
    keep = (rng.random(x.shape) >= p).astype(x.dtype) / np.asarray(1 - p, dtype=x.dtype)
    return x * keep
