"""Reductions: sum, mean, max, logsumexp over axis None/int/tuple with and without keepdims."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_attn import Tensor
from tinygrad_attn.testing import gradcheck, vjp_check
from tinygrad_attn.testing import strategies as tst


def _np_logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


SMOOTH = [
    ("sum", np.sum),
    ("mean", np.mean),
    ("logsumexp", _np_logsumexp),
]


@st.composite
def _reduction_case(draw, domain="real"):
    x = draw(tst.arrays(tst.shapes(min_dims=1), domain=domain), label="x")
    axis = draw(tst.axes(x.ndim), label="axis")
    keepdims = draw(st.booleans(), label="keepdims")
    return x, axis, keepdims


@pytest.mark.parametrize("name, ref", SMOOTH, ids=[c[0] for c in SMOOTH])
@given(case=_reduction_case())
def test_smooth_reductions_first_and_second_order(name, ref, case):
    x, axis, keepdims = case

    def f(t):
        return getattr(t, name)(axis=axis, keepdims=keepdims)

    out = f(Tensor(x))
    expected = ref(x, axis=axis, keepdims=keepdims)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    assert gradcheck(f, x)
    assert vjp_check(f, x, order=2)


@given(case=_reduction_case(domain="distinct"))
def test_max_without_ties_matches_central_differences(case):
    x, axis, keepdims = case
    out = Tensor(x).max(axis=axis, keepdims=keepdims)
    np.testing.assert_array_equal(out.data, np.max(x, axis=axis, keepdims=keepdims))
    assert gradcheck(lambda t: t.max(axis=axis, keepdims=keepdims), x)


@given(x=hnp.arrays(np.float64, tst.shapes(min_dims=1), elements=st.integers(0, 2).map(float)), data=st.data())
def test_max_ties_share_the_gradient_evenly(x, data):
    axis = data.draw(tst.axes(x.ndim), label="axis")
    t = Tensor(x, requires_grad=True)
    t.max(axis=axis, keepdims=True).sum().backward()
    hit = x == np.max(x, axis=axis, keepdims=True)
    np.testing.assert_allclose(t.grad.data, hit / hit.sum(axis=axis, keepdims=True))
    # every reduced slice passes on exactly the gradient it received
    np.testing.assert_allclose(t.grad.data.sum(axis=axis), np.ones_like(np.max(x, axis=axis)))


def test_max_tie_example():
    x = Tensor(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]), requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad.data, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])


def test_logsumexp_is_stable_for_large_inputs():
    x = Tensor(np.array([1000.0, 1000.0, -1000.0]), requires_grad=True)
    y = x.logsumexp()
    np.testing.assert_allclose(y.item(), 1000 + np.log(2))
    y.backward()
    np.testing.assert_allclose(x.grad.data, [0.5, 0.5, 0.0])


@pytest.mark.parametrize("name", ["sum", "mean", "max", "logsumexp"])
def test_negative_and_tuple_axes_agree_with_numpy(name):
    x = np.arange(24.0).reshape(2, 3, 4) / 7
    ref = {"sum": np.sum, "mean": np.mean, "max": np.max, "logsumexp": _np_logsumexp}[name]
    for axis in (-1, (0, 2), (-1, 0), ()):
        got = getattr(Tensor(x), name)(axis=axis)
        np.testing.assert_allclose(got.data, ref(x, axis=axis), rtol=1e-12)
