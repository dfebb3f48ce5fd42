"""The fast paths that ops hand to the sweep's accumulator: deferred weight grads, scatter."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_attn as ta
from tinygrad_attn import Tensor
from tinygrad_attn.arrays import add_at, fast_sum, shift_max, weight_grad


def _pairs(rows, n_pairs, k=5, n=3, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((rows, k)), rng.standard_normal((rows, n))) for _ in range(n_pairs)]


@pytest.mark.parametrize("rows", [1, 7, 64, 200])  # thin pairs stack into one GEMM, thick ones loop
@pytest.mark.parametrize("n_pairs", [1, 2, 5])
def test_weight_grad_is_the_sum_of_a_transpose_g(rows, n_pairs):
    pairs = _pairs(rows, n_pairs)
    expected = sum(a.T @ g for a, g in pairs)
    np.testing.assert_allclose(weight_grad(pairs), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("axes", [(0,), (0, 1), (2,), (1, 2)])
def test_fast_sum_sums_leading_and_trailing_axes_into_a_fresh_array(axes, dtype):
    x = np.random.default_rng(2).standard_normal((3, 4, 5)).astype(dtype)
    for _ in range(2):  # the second call uses the cached vector of ones
        out = fast_sum(x, axes, keepdims=True)
        np.testing.assert_allclose(out, x.sum(axis=axes, keepdims=True), rtol=1e-5, atol=1e-5)
        assert out.dtype == dtype and out.flags.writeable
        out[...] = 0  # writing into one result changes no later one
    np.testing.assert_allclose(fast_sum(x, axes), x.sum(axis=axes), rtol=1e-5, atol=1e-5)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 300),
    length=st.integers(1, 40),
    lead=st.sampled_from([(), (2,), (3, 2)]),
    dtype=st.sampled_from([np.float32, np.float64]),
    specials=st.lists(st.sampled_from([0.0, -0.0, np.inf, -np.inf, np.nan]), max_size=4),
    seed=st.integers(0, 2**16),
)
def test_shift_max_equals_numpys_row_max(rows, length, lead, dtype, specials, seed):
    # the whole-array path runs for last-axis rows of 2..32 in arrays of 4096+ elements
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(lead + (rows, length)) * 30).astype(dtype)
    flat = x.reshape(-1)
    for v in specials:
        flat[rng.integers(flat.size)] = v
    np.testing.assert_array_equal(shift_max(x, x.ndim - 1), x.max(axis=-1, keepdims=True))
    if x.ndim > 1:  # any other axis, and a non-contiguous view, take numpy's own reduction
        np.testing.assert_array_equal(shift_max(x, 0), x.max(axis=0, keepdims=True))
        v = np.swapaxes(x, -1, -2)
        np.testing.assert_array_equal(shift_max(v, v.ndim - 1), v.max(axis=-1, keepdims=True))


def test_shift_max_takes_the_whole_array_path_for_attention_scores():
    x = np.random.default_rng(3).standard_normal((8, 4, 32, 32)).astype(np.float32)
    m = shift_max(x, 3)
    assert m.base is not None and m.base.size == x.size - 31  # the strided view of the windowed maxima
    np.testing.assert_array_equal(m, x.max(axis=3, keepdims=True))


def test_weight_grad_flattens_batched_rows():
    rng = np.random.default_rng(1)
    pairs = [(rng.standard_normal((4, 70, 5)), rng.standard_normal((4, 70, 3))) for _ in range(3)]
    expected = sum(np.einsum("btk,btn->kn", a, g) for a, g in pairs)
    np.testing.assert_allclose(weight_grad(pairs), expected, rtol=1e-12)


@pytest.mark.parametrize("N", [2, 100])  # both branches of weight_grad through the sweep
def test_shared_weight_over_many_steps_gets_every_steps_gradient(N):
    rng = np.random.default_rng(2)
    W = Tensor(rng.standard_normal((4, 4)) * 0.3, requires_grad=True)
    xs = [Tensor(rng.standard_normal((N, 4))) for _ in range(6)]
    h = Tensor(np.zeros((N, 4)))
    for x in xs:
        h = (h @ W + x).tanh()
    loss = (h**2).sum()
    loss.backward(retain_graph=True)
    fast = W.grad.data.copy()
    W.grad = None
    with ta.record_backward():  # contributions added one at a time
        loss.backward()
    np.testing.assert_allclose(fast, W.grad.data, rtol=1e-10)


def test_a_weight_that_is_not_a_leaf_is_not_deferred():
    rng = np.random.default_rng(3)
    V = Tensor(rng.standard_normal((3, 3)), requires_grad=True)
    W = V * 2  # a non-leaf 2-d operand of matmul
    a = Tensor(rng.standard_normal((5, 3)), requires_grad=True)
    (a @ W).sum().backward()
    np.testing.assert_allclose(V.grad.data, 2 * a.data.T @ np.ones((5, 3)))
    np.testing.assert_allclose(a.grad.data, np.ones((5, 3)) @ W.data.T)


def test_scatter_accumulates_repeated_indices_and_fan_out():
    E = Tensor(np.arange(12.0).reshape(4, 3), requires_grad=True)
    ids = np.array([[0, 2, 0], [3, 0, 2]])
    loss = (E[ids] * 2).sum() + E[1].sum() + E.sum()
    loss.backward()
    expected = np.ones((4, 3)) + 2 * np.bincount(ids.ravel(), minlength=4)[:, None]
    expected[1] += 1
    np.testing.assert_array_equal(E.grad.data, expected)


@pytest.mark.parametrize(
    "idx",
    [np.array([1, 1, 3]), (slice(None), np.array([0, 0])), np.array([[True, False, True, False]]).T[:, 0], 2],
)
def test_add_at_matches_np_add_at(idx):
    rng = np.random.default_rng(4)
    buf = rng.standard_normal((4, 2))
    g = np.asarray(rng.standard_normal(np.shape(buf[idx])))
    expected = buf.copy()
    np.add.at(expected, idx, g)
    add_at(buf, idx, g)
    np.testing.assert_allclose(buf, expected)


def test_indexing_under_create_graph_uses_the_differentiable_rule():
    E = Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    (E[np.array([0, 0, 2])] ** 2).sum().backward(create_graph=True)
    g = E.grad
    np.testing.assert_allclose(g.data, [[0, 4], [0, 0], [8, 10]])
    E.grad = None
    g.sum().backward()
    np.testing.assert_allclose(E.grad.data, [[4, 4], [0, 0], [2, 2]])
