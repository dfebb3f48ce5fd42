"""Attention with interchangeable compatibility (score) functions.

The ten score functions are those of Galassi, Lippi and Torroni, "Attention in Natural
Language Processing" (IEEE TNNLS 2021), Table 3; each names its original source. A score
maps queries q (N, Tq, Dq) and keys K (N, Tk, Dk) to energies (N, Tq, Tk); a softmax over the
keys turns them into weights, and the context is the weighted sum of the values (the book's
"Deep Learning from Scratch 2", chapter 8, with the dot score).

Adding an eleventh score is one class:

    @register_score("mine")
    class MyScore(Score):
        def __init__(self, query_dim=None, key_dim=None, **unused): ...
        def forward(self, q, k): ...   # (N, Tq, Dq), (N, Tk, Dk) -> (N, Tq, Tk)
"""

from __future__ import annotations

import inspect

import numpy as np

from ..creation import where
from ..tensor import Tensor
from .layers import init_normal, init_zeros
from .module import Module

SCORES: dict[str, type] = {}  # name -> Score subclass, in registration order
NEG_LARGE = -1e9  # masked energies: exp(NEG_LARGE - max) underflows to exactly 0


def register_score(name: str):
    """Class decorator: make a Score subclass available as Attention(score=name)."""

    def deco(cls):
        SCORES[name] = cls
        cls.score_name = name
        return cls

    return deco


_ACTIVATIONS = {"tanh": Tensor.tanh, "relu": Tensor.relu, "sigmoid": Tensor.sigmoid}


def get_activation(name):
    """'tanh', 'relu', 'sigmoid' or a callable Tensor -> Tensor."""
    if callable(name):
        return name
    if name not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)} or a callable, got {name!r}")
    return _ACTIVATIONS[name]


def _need(score: str, **dims):
    for k, v in dims.items():
        if v is None:
            raise ValueError(f"Attention(score={score!r}) needs {k}")


def _keys_T(k: Tensor) -> Tensor:
    return k.transpose(0, 2, 1)  # (N, Tk, Dk) -> (N, Dk, Tk)


def _pairwise(qa: Tensor, ka: Tensor) -> Tensor:
    """Every (query, key) pair summed: (N, Tq, A) and (N, Tk, A) -> (N, Tq, Tk, A)."""
    N, Tq, A = qa.shape
    Tk = ka.shape[1]
    return qa.reshape(N, Tq, 1, A) + ka.reshape(N, 1, Tk, A)


def _same_dims(score, q, k):
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"Attention(score={score!r}): query dim {q.shape[-1]} and key dim {k.shape[-1]} must agree")


class Score(Module):
    """Base class: forward(q (N, Tq, Dq), k (N, Tk, Dk)) -> energies (N, Tq, Tk)."""

    score_name = "?"

    def extra_repr(self):
        return self.score_name


@register_score("similarity")
class SimilarityScore(Score):
    """beta(q) cos(q, k): cosine similarity times the key strength  (Graves et al. 2014, Neural Turing Machines).

    The NTM's content addressing is softmax_i(beta K(k, M_i)) with K the cosine and beta > 0 the
    key strength, emitted by the controller with the key. Here the query plays the controller:
    beta = softplus(q w + b), w (Dq,), b (1,), starting near 1 (b = log(e - 1), w small), so an
    untrained layer is plain cosine. A cosine alone lies in [-1, 1]: over Tk keys its softmax can
    put at most e^2 / (e^2 + Tk - 1) on one key (20 % over 29 keys), which is why the key strength
    exists. key_strength=False gives the bare cosine (no parameters; query_dim not needed).
    """

    def __init__(self, query_dim=None, key_strength: bool = True, eps: float = 1e-8, **unused):
        super().__init__()
        self.eps = eps
        self.key_strength = key_strength
        if key_strength:
            _need("similarity", query_dim=query_dim)
            self.w_beta = init_normal((query_dim,), 0.01 / np.sqrt(query_dim))
            self.b_beta = init_zeros((1,))
            self.b_beta.data[...] = np.log(np.e - 1)  # softplus(b) = 1

    def strength(self, q):
        """Key strength beta = softplus(q w + b) > 0: q (N, Tq, Dq) -> (N, Tq, 1)."""
        z = (q @ self.w_beta).reshape(*q.shape[:-1], 1) + self.b_beta
        return z.relu() + ((-z.abs()).exp() + 1).log()  # softplus without overflow

    def forward(self, q, k):
        _same_dims("similarity", q, k)
        qn = q / ((q * q).sum(axis=-1, keepdims=True) + self.eps).sqrt()
        kn = k / ((k * k).sum(axis=-1, keepdims=True) + self.eps).sqrt()
        cos = qn @ _keys_T(kn)  # (N, Tq, Tk) in [-1, 1]
        return cos * self.strength(q) if self.key_strength else cos

    def extra_repr(self):
        return "similarity" + ("" if self.key_strength else ", key_strength=False")


@register_score("dot")
class DotScore(Score):
    """q . k  (Luong et al. 2015); no parameters."""

    def __init__(self, **unused):
        super().__init__()

    def forward(self, q, k):
        _same_dims("dot", q, k)
        return q @ _keys_T(k)


@register_score("scaled_dot")
class ScaledDotScore(Score):
    """q . k / sqrt(d_k)  (Vaswani et al. 2017); no parameters."""

    def __init__(self, **unused):
        super().__init__()

    def forward(self, q, k):
        _same_dims("scaled_dot", q, k)
        return (q @ _keys_T(k)) * float(1 / np.sqrt(k.shape[-1]))  # a Python float keeps the dtype


@register_score("general")
class GeneralScore(Score):
    """q W k, W (Dq, Dk)  (Luong et al. 2015)."""

    def __init__(self, query_dim=None, key_dim=None, **unused):
        super().__init__()
        _need("general", query_dim=query_dim, key_dim=key_dim)
        self.W = init_normal((query_dim, key_dim), 1 / np.sqrt(query_dim))

    def forward(self, q, k):
        return (q @ self.W) @ _keys_T(k)


@register_score("biased_general")
class BiasedGeneralScore(Score):
    """k (W q + b): (q W + b) k, W (Dq, Dk), b (Dk,)  (Sordoni et al. 2016)."""

    def __init__(self, query_dim=None, key_dim=None, **unused):
        super().__init__()
        _need("biased_general", query_dim=query_dim, key_dim=key_dim)
        self.W = init_normal((query_dim, key_dim), 1 / np.sqrt(query_dim))
        self.b = init_zeros((key_dim,))

    def forward(self, q, k):
        return (q @ self.W + self.b) @ _keys_T(k)


@register_score("activated_general")
class ActivatedGeneralScore(Score):
    """act(q W k + b), W (Dq, Dk), scalar b  (Ma et al. 2017)."""

    def __init__(self, query_dim=None, key_dim=None, activation="tanh", **unused):
        super().__init__()
        _need("activated_general", query_dim=query_dim, key_dim=key_dim)
        self.act = get_activation(activation)
        self.W = init_normal((query_dim, key_dim), 1 / np.sqrt(query_dim))
        self.b = init_zeros((1,))

    def forward(self, q, k):
        return self.act((q @ self.W) @ _keys_T(k) + self.b)


@register_score("concat")
class ConcatScore(Score):
    """w . act([k; q] W + b), W (Dk + Dq, A), b (A,), w (A,)  (Luong et al. 2015)."""

    def __init__(self, query_dim=None, key_dim=None, hidden_dim=None, activation="tanh", **unused):
        super().__init__()
        _need("concat", query_dim=query_dim, key_dim=key_dim)
        A = hidden_dim or key_dim
        self.key_dim = key_dim
        self.act = get_activation(activation)
        self.W = init_normal((key_dim + query_dim, A), 1 / np.sqrt(key_dim + query_dim))
        self.b = init_zeros((A,))
        self.w = init_normal((A,), 1 / np.sqrt(A))

    def forward(self, q, k):
        # [k; q] W = k W[:Dk] + q W[Dk:], so each pair costs one add, not a concat.
        Dk = self.key_dim
        e = _pairwise(q @ self.W[Dk:], k @ self.W[:Dk] + self.b)  # (N, Tq, Tk, A)
        return self.act(e) @ self.w  # (N, Tq, Tk)


@register_score("additive")
class AdditiveScore(Score):
    """w . act(k W_k + q W_q + b), W_k (Dk, A), W_q (Dq, A)  (Bahdanau et al. 2015)."""

    def __init__(self, query_dim=None, key_dim=None, hidden_dim=None, activation="tanh", **unused):
        super().__init__()
        _need("additive", query_dim=query_dim, key_dim=key_dim)
        A = hidden_dim or key_dim
        self.act = get_activation(activation)
        self.W_k = init_normal((key_dim, A), 1 / np.sqrt(key_dim))
        self.W_q = init_normal((query_dim, A), 1 / np.sqrt(query_dim))
        self.b = init_zeros((A,))
        self.w = init_normal((A,), 1 / np.sqrt(A))

    def forward(self, q, k):
        e = _pairwise(q @ self.W_q, k @ self.W_k + self.b)  # (N, Tq, Tk, A)
        return self.act(e) @ self.w


@register_score("deep")
class DeepScore(Score):
    """w . act(act(k W_k + q W_q + b_1) W_2 + b_2): a two-layer MLP on each pair  (Pavlopoulos et al. 2017)."""

    def __init__(self, query_dim=None, key_dim=None, hidden_dim=None, activation="tanh", **unused):
        super().__init__()
        _need("deep", query_dim=query_dim, key_dim=key_dim)
        A = hidden_dim or key_dim
        self.act = get_activation(activation)
        self.W_k = init_normal((key_dim, A), 1 / np.sqrt(key_dim))
        self.W_q = init_normal((query_dim, A), 1 / np.sqrt(query_dim))
        self.b_1 = init_zeros((A,))
        self.W_2 = init_normal((A, A), 1 / np.sqrt(A))
        self.b_2 = init_zeros((A,))
        self.w = init_normal((A,), 1 / np.sqrt(A))

    def forward(self, q, k):
        e = self.act(_pairwise(q @ self.W_q, k @ self.W_k + self.b_1))  # (N, Tq, Tk, A)
        return self.act(e @ self.W_2 + self.b_2) @ self.w


@register_score("location")
class LocationScore(Score):
    """(q W + b)[:Tk]: one energy per key position from the query alone, W (Dq, max_len)  (Luong et al. 2015)."""

    def __init__(self, query_dim=None, max_len=None, **unused):
        super().__init__()
        _need("location", query_dim=query_dim, max_len=max_len)
        self.max_len = max_len
        self.W = init_normal((query_dim, max_len), 1 / np.sqrt(query_dim))
        self.b = init_zeros((max_len,))

    def forward(self, q, k):
        Tk = k.shape[1]
        if Tk > self.max_len:
            raise ValueError(f"Attention(score='location'): {Tk} keys but max_len={self.max_len}")
        e = q @ self.W + self.b  # (N, Tq, max_len)
        return e if Tk == self.max_len else e[:, :, :Tk]


def _as_mask(mask, shape, who: str) -> np.ndarray:
    m = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if m.dtype != bool:
        m = m != 0
    try:
        fits = np.broadcast_shapes(m.shape, shape) == tuple(shape)
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{who}: mask of shape {m.shape} does not broadcast to the weights' shape {shape}")
    return m


def masked_softmax(scores: Tensor, mask=None, who: str = "attention") -> Tensor:
    """softmax over the last axis where mask is True; masked weights are exactly 0 (all-masked rows: all 0)."""
    if mask is None:
        return scores.softmax(-1)
    m = _as_mask(mask, scores.shape, who)
    if m.all():  # nothing masked: skip the where
        return scores.softmax(-1)
    weights = where(m, scores, NEG_LARGE).softmax(-1)
    if not m.any(axis=-1).all():  # a row with nothing to attend to: uniform -> zeros
        weights = weights * m
    return weights


def causal_mask(T: int) -> np.ndarray:
    """(T, T) boolean: position t may attend to positions <= t."""
    return np.tril(np.ones((T, T), dtype=bool))


def padding_mask(ids, pad_id: int) -> np.ndarray:
    """(N, 1, T) boolean from integer ids (N, T): True where the token is not padding."""
    ids = np.asarray(ids.data if isinstance(ids, Tensor) else ids)
    return (ids != pad_id)[:, None, :]


class Attention(Module):
    """context = softmax(score(q, K)) V: query (N, Tq, Dq) or (N, Dq), keys (N, Tk, Dk), values (N, Tk, Dv).

    forward(query, keys, values, mask=None) -> (context (N, Tq, Dv), weights (N, Tq, Tk)), or
    (N, Dv) and (N, Tk) for a 2-d query. `mask` is boolean, broadcastable to (N, Tq, Tk), True
    where attending is allowed; masked keys get weight exactly 0. `score` is a name in SCORES
    (see `register_score`); parameterised scores need query_dim and key_dim (hidden_dim defaults
    to key_dim; location needs max_len). Other keywords go to the score (`key_strength=False` for
    a bare cosine `similarity`).

    `temperature` (off by default, as in every source of Table 3) divides the energies before the
    softmax: softmax(score / temperature). A bounded score (the tanh of `activated_general`, the
    bare cosine) gives energies in [-1, 1], and a softmax over them cannot put more than
    e^2 / (e^2 + Tk - 1) on one key; a temperature below 1 widens that range.
    """

    def __init__(
        self,
        score: str = "dot",
        query_dim: int | None = None,
        key_dim: int | None = None,
        hidden_dim: int | None = None,
        activation="tanh",
        max_len: int | None = None,
        temperature: float | None = None,
        **score_options,
    ):
        super().__init__()
        if temperature is not None and not temperature > 0:
            raise ValueError(f"Attention: temperature must be > 0, got {temperature}")
        if score not in SCORES:
            raise ValueError(f"Attention: unknown score {score!r}; choose from {', '.join(SCORES)}")
        key_dim = key_dim if key_dim is not None else query_dim
        named = inspect.signature(SCORES[score].__init__).parameters
        for k in score_options:
            if k not in named:
                raise ValueError(f"Attention(score={score!r}): unknown option {k}")
        self.score_name = score
        self.temperature = temperature
        self.score = SCORES[score](
            query_dim=query_dim,
            key_dim=key_dim,
            hidden_dim=hidden_dim,
            activation=activation,
            max_len=max_len,
            **score_options,
        )

    def forward(self, query: Tensor, keys: Tensor, values: Tensor, mask=None):
        single = query.ndim == 2
        if single:
            query = query.reshape(query.shape[0], 1, query.shape[1])  # (N, Dq) -> (N, 1, Dq)
        if query.ndim != 3 or keys.ndim != 3 or values.ndim != 3:
            raise ValueError(
                f"Attention: query {query.shape}, keys {keys.shape}, values {values.shape}: "
                "need (N, Tq, Dq), (N, Tk, Dk), (N, Tk, Dv)"
            )
        if not (query.shape[0] == keys.shape[0] == values.shape[0]) or keys.shape[1] != values.shape[1]:
            raise ValueError(
                f"Attention: query {query.shape}, keys {keys.shape}, values {values.shape}: "
                "batch sizes and key/value lengths must agree"
            )
        scores = self.score(query, keys)  # (N, Tq, Tk)
        if self.temperature is not None:
            scores = scores * float(1 / self.temperature)  # a Python float keeps the dtype
        if single and mask is not None:
            mask = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
            if mask.ndim == 2:  # (N, Tk) for a single query
                mask = mask[:, None, :]
        weights = masked_softmax(scores, mask, "Attention")
        context = weights @ values  # (N, Tq, Dv)
        if single:
            N, _, Tk = weights.shape
            return context.reshape(N, values.shape[2]), weights.reshape(N, Tk)
        return context, weights

    def extra_repr(self):
        t = "" if self.temperature is None else f", temperature={self.temperature}"
        return f"score={self.score_name!r}{t}"
