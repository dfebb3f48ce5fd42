"""Elementwise ops: forward against numpy, gradients against central differences (float64)."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_attn as ta
from tinygrad_attn import Tensor
from tinygrad_attn.testing import gradcheck, vjp_check
from tinygrad_attn.testing import strategies as tst


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# name, tensor function, numpy reference, input domain
SMOOTH_UNARY = [
    ("neg", lambda x: -x, np.negative, "real"),
    ("exp", lambda x: x.exp(), np.exp, "real"),
    ("log", lambda x: x.log(), np.log, "positive"),
    ("sqrt", lambda x: x.sqrt(), np.sqrt, "positive"),
    ("tanh", lambda x: x.tanh(), np.tanh, "real"),
    ("sigmoid", lambda x: x.sigmoid(), _sigmoid, "real"),
    ("pow_int", lambda x: x**3, lambda x: x**3, "real"),
    ("pow_frac", lambda x: x**1.5, lambda x: x**1.5, "positive"),
    ("rpow", lambda x: 2.0**x, lambda x: 2.0**x, "real"),
    ("radd", lambda x: 2.0 + x, lambda x: 2.0 + x, "real"),
    ("rsub", lambda x: 2.0 - x, lambda x: 2.0 - x, "real"),
    ("rmul", lambda x: 2.0 * x, lambda x: 2.0 * x, "real"),
    ("rdiv", lambda x: 2.0 / x, lambda x: 2.0 / x, "nonzero"),
]

# non-smooth ops: inputs are kept away from the kinks
KINKED_UNARY = [
    ("relu", lambda x: x.relu(), lambda x: np.maximum(x, 0), "nonzero"),
    ("abs", lambda x: x.abs(), np.abs, "nonzero"),
    ("clip", lambda x: x.clip(-1.0, 1.0), lambda x: np.clip(x, -1, 1), "nonzero"),
    ("clip_low_only", lambda x: x.clip(min=0.5), lambda x: np.clip(x, 0.5, None), "nonzero"),
]


@pytest.mark.parametrize("name, f, ref, domain", SMOOTH_UNARY, ids=[c[0] for c in SMOOTH_UNARY])
@given(data=st.data())
def test_smooth_unary_forward_first_and_second_order(name, f, ref, domain, data):
    x = data.draw(tst.arrays(domain=domain), label="x")
    np.testing.assert_allclose(f(Tensor(x)).data, ref(x), rtol=1e-12, atol=1e-12)
    assert gradcheck(f, x)
    assert vjp_check(f, x, order=2)


@pytest.mark.parametrize("name, f, ref, domain", KINKED_UNARY, ids=[c[0] for c in KINKED_UNARY])
@given(data=st.data())
def test_kinked_unary_forward_and_gradient(name, f, ref, domain, data):
    x = data.draw(tst.arrays(domain=domain), label="x")
    assume(np.all(np.abs(np.abs(x) - 1.0) > 1e-3) and np.all(np.abs(x - 0.5) > 1e-3))  # clip's corners
    np.testing.assert_allclose(f(Tensor(x)).data, ref(x))
    assert gradcheck(f, x)


def test_relu_abs_clip_gradient_values_at_known_points():
    x = Tensor(np.array([-2.0, -0.5, 0.5, 2.0]), requires_grad=True)
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0, 0, 1, 1])
    x.grad = None
    x.abs().sum().backward()
    np.testing.assert_array_equal(x.grad.data, [-1, -1, 1, 1])
    x.grad = None
    x.clip(-1, 1).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0, 1, 1, 0])


# name, tensor function, numpy reference, domain of a, domain of b
BINARY = [
    ("add", lambda a, b: a + b, np.add, "real", "real"),
    ("sub", lambda a, b: a - b, np.subtract, "real", "real"),
    ("mul", lambda a, b: a * b, np.multiply, "real", "real"),
    ("div", lambda a, b: a / b, np.divide, "real", "nonzero"),
    ("pow", lambda a, b: a**b, np.power, "positive", "real"),
]


@pytest.mark.parametrize("name, f, ref, da, db", BINARY, ids=[c[0] for c in BINARY])
@given(data=st.data())
def test_binary_broadcasting_first_and_second_order(name, f, ref, da, db, data):
    sa, sb = data.draw(tst.broadcastable_shapes(), label="shapes")
    a = data.draw(tst.arrays(sa, domain=da), label="a")
    b = data.draw(tst.arrays(sb, domain=db), label="b")
    out = f(Tensor(a), Tensor(b))
    assert out.shape == np.broadcast_shapes(sa, sb)
    np.testing.assert_allclose(out.data, ref(a, b), rtol=1e-12)
    assert gradcheck(f, a, b)
    assert vjp_check(f, a, b, order=2)


@pytest.mark.parametrize("name, f, ref, da, db", BINARY, ids=[c[0] for c in BINARY])
@given(data=st.data())
def test_binary_with_ndarray_on_the_left_is_a_tensor_op(name, f, ref, da, db, data):
    sa, sb = data.draw(tst.broadcastable_shapes(min_dims=1), label="shapes")
    a = data.draw(tst.arrays(sa, domain=da), label="a")
    b = data.draw(tst.arrays(sb, domain=db), label="b")
    out = f(a, Tensor(b))  # ndarray (op) Tensor -> Tensor's reflected operator
    assert isinstance(out, Tensor)
    np.testing.assert_allclose(out.data, ref(a, b), rtol=1e-12)
    assert gradcheck(lambda t: f(a, t), b)


@given(data=st.data())
def test_maximum_gradient_away_from_ties(data):
    sa, sb = data.draw(tst.broadcastable_shapes(), label="shapes")
    a = data.draw(tst.arrays(sa), label="a")
    b = data.draw(tst.arrays(sb), label="b")
    assume(np.abs(a - b).min() > 1e-3)
    np.testing.assert_array_equal(Tensor(a).maximum(Tensor(b)).data, np.maximum(a, b))
    assert gradcheck(lambda x, y: x.maximum(y), a, b)


def test_maximum_ties_split_the_gradient():
    a = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    b = Tensor(np.array([1.0, 5.0, 0.0]), requires_grad=True)
    a.maximum(b).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [0.5, 0, 1])
    np.testing.assert_array_equal(b.grad.data, [0.5, 1, 0])


@given(data=st.data())
def test_where_sends_gradient_to_the_chosen_side(data):
    sa, sb = data.draw(tst.broadcastable_shapes(), label="shapes")
    shape = np.broadcast_shapes(sa, sb)
    cond = data.draw(hnp.arrays(bool, shape), label="cond")
    a = data.draw(tst.arrays(sa), label="a")
    b = data.draw(tst.arrays(sb), label="b")
    np.testing.assert_array_equal(ta.where(cond, Tensor(a), Tensor(b)).data, np.where(cond, a, b))
    assert gradcheck(lambda x, y: ta.where(cond, x, y), a, b)
    assert vjp_check(lambda x, y: ta.where(cond, x, y) * x, a, b, order=2)


def test_where_accepts_numbers_and_a_tensor_condition():
    x = Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    y = ta.where(x > 0, x, 0.0)
    np.testing.assert_array_equal(y.data, [1, 0, 3])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1, 0, 1])


def test_sigmoid_is_stable_for_large_inputs():
    x = Tensor(np.array([-1000.0, 0.0, 1000.0]), requires_grad=True)
    with ta.detect_anomaly():
        y = x.sigmoid()
        y.sum().backward()
    np.testing.assert_array_equal(y.data, [0, 0.5, 1])
    np.testing.assert_array_equal(x.grad.data, [0, 0.25, 0])


def test_pow_with_zero_base_has_finite_exponent_gradient():
    a = Tensor(np.array([0.0, 2.0]), requires_grad=True)
    b = Tensor(np.array([2.0, 3.0]), requires_grad=True)
    (a**b).sum().backward()
    np.testing.assert_allclose(b.grad.data, [0.0, 8 * np.log(2)])
    np.testing.assert_allclose(a.grad.data, [0.0, 12.0])


@given(data=st.data())
def test_a_tensor_times_itself_gets_both_products(data):
    """x * x hands g x to the same input twice (the rule computes it once): 2 g x in total."""
    x = data.draw(tst.arrays(), label="x")
    assert gradcheck(lambda x: x * x, x)
    assert vjp_check(lambda x: x * x, x, order=2)
    t = Tensor(x, requires_grad=True)
    (t * t).sum().backward()
    np.testing.assert_array_equal(t.grad.data, x + x)
