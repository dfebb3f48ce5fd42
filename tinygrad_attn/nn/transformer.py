"""Transformer building blocks: multi-head attention, sinusoidal positions, encoder and decoder layers.

After Vaswani et al., "Attention Is All You Need" (2017): scaled dot-product attention per
head, heads concatenated and projected; each sublayer wrapped in dropout, a residual and a
LayerNorm, either after the residual (post-norm, the paper) or before the sublayer
(pre-norm, `norm_first=True`, which trains more easily when deep). Batch-first, row vectors.
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .attention import causal_mask, get_activation, masked_softmax
from .layers import Dropout, LayerNorm, Linear
from .module import Module


def _head_mask(mask, who: str):
    """A mask broadcastable to (N, Tq, Tk) as one broadcastable to (N, heads, Tq, Tk)."""
    if mask is None:
        return None
    m = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if m.ndim > 3:
        raise ValueError(f"{who}: mask of shape {m.shape} must broadcast to (N, Tq, Tk)")
    m = m.reshape((1,) * (3 - m.ndim) + m.shape)
    return m[:, None]  # (N|1, 1, Tq|1, Tk)


class MultiHeadAttention(Module):
    """softmax(Q K^T / sqrt(d_head)) V in each of `num_heads` heads, concatenated and projected.

    forward(query (N, Tq, E), key (N, Tk, E) = query, value (N, Tk, E) = key, mask=None)
    -> (out (N, Tq, E), weights (N, heads, Tq, Tk)); `mask` is boolean, broadcastable to
    (N, Tq, Tk), True where attending is allowed (masked weights are exactly 0).
    """

    def __init__(self, d_model: int, num_heads: int, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        if d_model % num_heads:
            raise ValueError(f"MultiHeadAttention: d_model={d_model} is not divisible by num_heads={num_heads}")
        self.d_model, self.num_heads = d_model, num_heads
        self.q_proj = Linear(d_model, d_model, bias)
        self.k_proj = Linear(d_model, d_model, bias)
        self.v_proj = Linear(d_model, d_model, bias)
        self.out_proj = Linear(d_model, d_model, bias)
        self.dropout = Dropout(dropout)

    def forward(self, query: Tensor, key: Tensor | None = None, value: Tensor | None = None, mask=None):
        key = query if key is None else key
        value = key if value is None else value
        if query.ndim != 3 or key.ndim != 3 or value.shape != key.shape or query.shape[0] != key.shape[0]:
            raise ValueError(
                f"MultiHeadAttention: query {query.shape}, key {key.shape}, value {value.shape}: "
                f"need (N, Tq, {self.d_model}), (N, Tk, {self.d_model}), (N, Tk, {self.d_model})"
            )
        N, Tq, E = query.shape
        Tk = key.shape[1]
        h, d = self.num_heads, self.d_model // self.num_heads
        q = self.q_proj(query).reshape(N, Tq, h, d).transpose(0, 2, 1, 3)  # (N, h, Tq, d)
        k = self.k_proj(key).reshape(N, Tk, h, d).transpose(0, 2, 3, 1)  # (N, h, d, Tk)
        v = self.v_proj(value).reshape(N, Tk, h, d).transpose(0, 2, 1, 3)  # (N, h, Tk, d)
        scores = (q @ k) * float(1 / np.sqrt(d))  # (N, h, Tq, Tk)
        weights = masked_softmax(scores, _head_mask(mask, "MultiHeadAttention"), "MultiHeadAttention")
        ctx = self.dropout(weights) @ v  # (N, h, Tq, d)
        ctx = ctx.transpose(0, 2, 1, 3).reshape(N, Tq, E)  # heads side by side: (N, Tq, E)
        return self.out_proj(ctx), weights

    def extra_repr(self):
        return f"d_model={self.d_model}, num_heads={self.num_heads}"


def sinusoidal_encoding(length: int, d_model: int, dtype=np.float32) -> np.ndarray:
    """(length, d_model): PE[t, 2i] = sin(t / 10000^(2i/d)), PE[t, 2i+1] = cos(t / 10000^(2i/d))."""
    t = np.arange(length)[:, None]
    freq = np.exp(-np.log(10000.0) * np.arange(0, d_model, 2) / d_model)  # (ceil(d/2),)
    pe = np.zeros((length, d_model))
    pe[:, 0::2] = np.sin(t * freq)
    pe[:, 1::2] = np.cos(t * freq[: d_model // 2])
    return pe.astype(dtype)


class PositionalEncoding(Module):
    """x + PE[:T] (sinusoidal, no parameters), then dropout: (N, T, D) -> (N, T, D)."""

    def __init__(self, d_model: int, max_len: int = 512, dropout: float = 0.0):
        super().__init__()
        self.d_model, self.max_len = d_model, max_len
        self.table = sinusoidal_encoding(max_len, d_model, np.float64)  # a constant, not in the state dict
        self._cast = {}  # dtype -> table in that dtype
        self.dropout = Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 3 or x.shape[2] != self.d_model or x.shape[1] > self.max_len:
            raise ValueError(
                f"PositionalEncoding: input {x.shape} must be (N, T, {self.d_model}) with T <= {self.max_len}"
            )
        table = self._cast.get(x.dtype)
        if table is None:
            table = self._cast[x.dtype] = self.table.astype(x.dtype)
        return self.dropout(x + Tensor(table[: x.shape[1]]))

    def extra_repr(self):
        return f"{self.d_model}, max_len={self.max_len}"


class FeedForward(Module):
    """Position-wise MLP: act(x W_1 + b_1) W_2 + b_2, (..., d_model) -> (..., d_model)."""

    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.0, activation="relu"):
        super().__init__()
        self.act = get_activation(activation)
        self.fc1 = Linear(d_model, d_ff)
        self.fc2 = Linear(d_ff, d_model)
        self.dropout = Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.dropout(self.act(self.fc1(x))))


class TransformerEncoderLayer(Module):
    """Self-attention then feed-forward, each with dropout, residual and LayerNorm: (N, T, E) -> (N, T, E).

    forward(x, mask=None); `mask` broadcastable to (N, T, T), e.g. `padding_mask(src, pad)`.
    The last attention weights (N, heads, T, T) are kept as a plain array in `self.attn_weights`.
    """

    def __init__(self, d_model, num_heads, d_ff=None, dropout=0.1, norm_first=False, activation="relu"):
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout)
        self.ff = FeedForward(d_model, d_ff or 4 * d_model, dropout, activation)
        self.norm1 = LayerNorm(d_model)
        self.norm2 = LayerNorm(d_model)
        self.dropout = Dropout(dropout)
        self.attn_weights = None

    def _self_attention(self, x, mask):
        y, w = self.self_attn(x, x, x, mask)
        self.attn_weights = w.data
        return self.dropout(y)

    def forward(self, x: Tensor, mask=None) -> Tensor:
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x), mask)
            return x + self.dropout(self.ff(self.norm2(x)))
        x = self.norm1(x + self._self_attention(x, mask))
        return self.norm2(x + self.dropout(self.ff(x)))


class TransformerDecoderLayer(Module):
    """Causal self-attention, cross-attention over the encoder memory, feed-forward: (N, T, E) -> (N, T, E).

    forward(x (N, T, E), memory (N, S, E), tgt_mask=None, memory_mask=None, causal=True):
    position t sees target positions <= t (and `tgt_mask` if given, broadcastable to (N, T, T));
    `memory_mask` broadcastable to (N, T, S). The last weights are kept as plain arrays in
    `self.self_attn_weights` (N, heads, T, T) and `self.cross_attn_weights` (N, heads, T, S).
    """

    def __init__(self, d_model, num_heads, d_ff=None, dropout=0.1, norm_first=False, activation="relu"):
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout)
        self.cross_attn = MultiHeadAttention(d_model, num_heads, dropout)
        self.ff = FeedForward(d_model, d_ff or 4 * d_model, dropout, activation)
        self.norm1 = LayerNorm(d_model)
        self.norm2 = LayerNorm(d_model)
        self.norm3 = LayerNorm(d_model)
        self.dropout = Dropout(dropout)
        self.self_attn_weights = self.cross_attn_weights = None

    def _self_attention(self, x, mask):
        y, w = self.self_attn(x, x, x, mask)
        self.self_attn_weights = w.data
        return self.dropout(y)

    def _cross_attention(self, x, memory, mask):
        y, w = self.cross_attn(x, memory, memory, mask)
        self.cross_attn_weights = w.data
        return self.dropout(y)

    def forward(self, x: Tensor, memory: Tensor, tgt_mask=None, memory_mask=None, causal: bool = True) -> Tensor:
        if causal:
            c = causal_mask(x.shape[1])
            tgt_mask = c if tgt_mask is None else c & np.asarray(tgt_mask, dtype=bool)
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x), tgt_mask)
            x = x + self._cross_attention(self.norm2(x), memory, memory_mask)
            return x + self.dropout(self.ff(self.norm3(x)))
        x = self.norm1(x + self._self_attention(x, tgt_mask))
        x = self.norm2(x + self._cross_attention(x, memory, memory_mask))
        return self.norm3(x + self.dropout(self.ff(x)))
