"""softmax and log_softmax along any axis: values, stability, first and second order gradients."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_attn as ta
from tinygrad_attn import Tensor
from tinygrad_attn.testing import gradcheck, vjp_check
from tinygrad_attn.testing import strategies as tst


def _np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


CASES = [
    ("softmax", _np_softmax),
    ("log_softmax", lambda x, axis: np.log(_np_softmax(x, axis))),
]


@pytest.mark.parametrize("name, ref", CASES, ids=[c[0] for c in CASES])
@given(x=tst.arrays(tst.shapes(min_dims=1)), data=st.data())
def test_softmax_family_first_and_second_order(name, ref, x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")

    def f(t):
        return getattr(t, name)(axis)

    np.testing.assert_allclose(f(Tensor(x)).data, ref(x, axis), rtol=1e-10, atol=1e-12)
    assert gradcheck(f, x)
    assert vjp_check(f, x, order=2)


@given(x=tst.arrays(tst.shapes(min_dims=1)))
def test_softmax_rows_sum_to_one_and_default_axis_is_last(x):
    y = Tensor(x).softmax()
    np.testing.assert_allclose(y.data.sum(axis=-1), 1.0)
    np.testing.assert_allclose(np.exp(Tensor(x).log_softmax().data), y.data, rtol=1e-12)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_family_is_stable_for_large_logits(name):
    x = Tensor(np.array([[1000.0, 0.0, -1000.0]]), requires_grad=True)
    with ta.detect_anomaly():
        y = getattr(x, name)(-1)
        (y * np.array([1.0, 2.0, 3.0])).sum().backward()
    assert np.isfinite(y.data).all() and np.isfinite(x.grad.data).all()
    np.testing.assert_allclose(np.exp(y.data) if name == "log_softmax" else y.data, [[1, 0, 0]], atol=1e-300)


def test_softmax_float32_stays_float32():
    x = Tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    y = x.softmax(-1)
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
