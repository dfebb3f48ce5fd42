"""Shapes, arrays and tensors for property tests; the book's layer sizes (hypothesis strategies)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

try:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as e:  # a dependency of the package, so only a broken install gets here
    raise ImportError(
        "tinygrad_attn.testing.strategies needs hypothesis, a dependency of tinygrad-attn: "
        "`pip install hypothesis` (or reinstall tinygrad-attn)"
    ) from e

from ..tensor import Tensor

# ---- shapes and arrays ---------------------------------------------------------------------


def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Array shapes (tuples of ints); 0-d `()` included unless `min_dims` > 0."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcastable_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Pairs `(shape_a, shape_b)` that broadcast together (numpy rules; 1-sized and missing dims)."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=2, min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    ).map(lambda bs: tuple(bs.input_shapes))


def axes(ndim, allow_none=True):
    """A valid `axis` argument for a tensor of `ndim` dims: None, an int (maybe negative) or a tuple."""
    options = []
    if allow_none:
        options.append(st.none())
    if ndim > 0:
        options.append(st.integers(-ndim, ndim - 1))
        options.append(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim).map(tuple))
    return st.one_of(options) if options else st.none()


# Each domain is (low, high, keep_away_from_zero): values are drawn in [low, high]; with the flag
# set, |x| >= 0.1 so a kink at 0 (abs, relu) is never within a finite-difference step.
DOMAINS = {
    "real": (-3.0, 3.0, False),
    "positive": (0.1, 3.0, False),  # log, sqrt, pow base
    "nonzero": (-3.0, 3.0, True),  # abs, relu, a divisor
    "unit": (-0.9, 0.9, False),  # keeps chains of exp/mul small
}


def _elements(domain, dtype):
    if domain == "distinct":
        raise ValueError("arrays: 'distinct' is handled by arrays() itself")
    if domain not in DOMAINS:
        raise ValueError(f"arrays: unknown domain {domain!r}; choose from {sorted(DOMAINS) + ['distinct']}")
    lo, hi, away = DOMAINS[domain]
    width = 64 if np.dtype(dtype) == np.float64 else 32
    floats = st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=width)
    if away:
        floats = floats.filter(lambda v: abs(v) >= 0.1)
    return floats


@st.composite
def _distinct(draw, shape, dtype):
    """Values on a grid 0.25 apart, in random order: no ties, so max/maximum are differentiable."""
    shape = draw(shape) if isinstance(shape, st.SearchStrategy) else tuple(shape)
    n = int(np.prod(shape, dtype=np.int64))
    order = draw(st.permutations(list(range(n))))
    offset = draw(st.floats(-1.0, 1.0))
    return ((np.asarray(order, dtype=np.float64) - n / 2) * 0.25 + offset).reshape(shape).astype(dtype)


def arrays(shape=None, elements=None, domain="real", dtype=np.float64):
    """Float arrays of `shape` (a tuple or a strategy; default `shapes()`) with values in `domain`.

    domain: "real" [-3, 3], "positive" [0.1, 3], "nonzero" (|x| >= 0.1), "unit" [-0.9, 0.9], or
    "distinct" (no two elements within 0.25: for max and maximum). `elements` (a strategy of
    floats) overrides the domain.
    """
    shape = shapes() if shape is None else shape
    if elements is None and domain == "distinct":
        return _distinct(shape, dtype)
    return hnp.arrays(dtype, shape, elements=elements if elements is not None else _elements(domain, dtype))


def tensors(shape=None, elements=None, domain="real", dtype=np.float64, requires_grad=True):
    """Tensors (float64 leaves that require grad by default) drawn with `arrays`."""
    return arrays(shape, elements, domain, dtype).map(lambda a: Tensor(a, requires_grad=requires_grad))


@dataclass(frozen=True)
class LayerDims:
    """The book's letters: batch N, time T, input D, hidden H, vocabulary V."""

    N: int
    T: int
    D: int
    H: int
    V: int


def layer_dims(max_side=4):
    """Small LayerDims for checking hand-written layers (each side in 1..max_side, V >= 2)."""
    side = st.integers(1, max_side)
    return st.builds(LayerDims, N=side, T=side, D=side, H=side, V=st.integers(2, max(2, max_side)))
