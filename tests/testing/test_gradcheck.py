"""gradcheck and vjp_check pass on correct ops and catch deliberately wrong ones."""

import numpy as np
import pytest

from tinygrad_attn import Tensor
from tinygrad_attn.autograd import Function
from tinygrad_attn.testing import GradcheckError, gradcheck, vjp_check


class WrongSquare(Function):
    """x^2 with a backward that forgets the factor 2."""

    def forward(self, x):
        return x * x

    def backward(self, g, ins, out):
        return g * ins[0]


class WrongOnSecondInput(Function):
    """a * b with d/db wrong by a sign."""

    def forward(self, a, b):
        return a * b

    def backward(self, g, ins, out):
        a, b = ins
        return g * b, -g * a


class FrozenSquare(Function):
    """x^2 whose first derivative is right but computed from constants, so no second derivative flows."""

    def forward(self, x):
        return x * x

    def backward(self, g, ins, out):
        x = ins[0]
        return g * (2 * np.asarray(x.data if isinstance(x, Tensor) else x))


def test_gradcheck_passes_on_correct_ops():
    x = np.array([[0.3, -1.2], [2.0, 0.7]])
    assert gradcheck(lambda t: (t.tanh() * t).sum(axis=1), x) is True


def test_gradcheck_fails_on_a_wrong_backward_and_reports_where():
    x = np.array([[0.5, -1.0, 2.0], [3.0, -0.25, 1.5]])
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda t: WrongSquare.apply(t), x)
    err = info.value
    msg = str(err)
    assert "input 0" in msg and "(2, 3)" in msg
    assert "worst element" in msg and "analytic" in msg and "numeric" in msg
    # with a fixed projection u, the error at element j is u_j * x_j: the report picks the largest
    u = np.random.default_rng(0).standard_normal(x.shape)
    worst = np.unravel_index(np.argmax(np.abs(u * x)), x.shape)
    assert tuple(err.element) == tuple(int(k) for k in worst)
    assert str(tuple(int(k) for k in worst)) in msg
    assert err.input_index == 0
    np.testing.assert_allclose(err.analytic, u[worst] * x[worst])
    np.testing.assert_allclose(err.numeric, 2 * u[worst] * x[worst], rtol=1e-6)
    assert f"{err.analytic:.8g}" in msg and f"{err.numeric:.8g}" in msg


def test_gradcheck_names_the_input_that_is_wrong():
    a, b = np.array([1.0, 2.0]), np.array([3.0, -4.0])
    with pytest.raises(GradcheckError, match="input 1") as info:
        gradcheck(lambda x, y: WrongOnSecondInput.apply(x, y), a, b)
    assert info.value.input_index == 1


def test_gradcheck_report_includes_a_tensor_name():
    x = Tensor(np.array([1.0, 2.0]), name="weights")
    with pytest.raises(GradcheckError, match=r"input 0 \(weights\)"):
        gradcheck(lambda t: WrongSquare.apply(t), x)


def test_gradcheck_rejects_a_function_with_no_dependence_on_inputs():
    with pytest.raises(GradcheckError, match="does not depend"):
        gradcheck(lambda t: Tensor(np.ones(2)), np.ones(2))


def test_gradcheck_rejects_a_non_tensor_output():
    with pytest.raises(TypeError, match="gradcheck"):
        gradcheck(lambda t: t.data * 2, np.ones(2))


def test_gradcheck_handles_tuple_outputs_and_integer_inputs():
    idx = np.array([2, 0, 2])
    assert gradcheck(lambda w, i: (w[i], w.exp()), np.array([0.1, 0.2, 0.3]), idx)


def test_gradcheck_runs_in_float64_whatever_the_input_dtype():
    seen = []

    def f(t):
        seen.append(t.dtype)
        return t.tanh()

    assert gradcheck(f, np.array([0.5, -0.5], dtype=np.float32))
    assert set(seen) == {np.dtype(np.float64)}


def test_vjp_check_first_order_catches_a_wrong_backward():
    with pytest.raises(GradcheckError, match="order 1"):
        vjp_check(lambda t: WrongSquare.apply(t), np.array([0.5, 1.5]), order=1)


def test_vjp_check_second_order_catches_a_backward_that_is_not_differentiable():
    x = np.array([0.5, -1.5, 2.0])
    assert vjp_check(lambda t: FrozenSquare.apply(t), x, order=1)  # first order is right
    with pytest.raises(GradcheckError, match="order 1"):  # the recursion checks x -> J^T u
        vjp_check(lambda t: FrozenSquare.apply(t), x, order=2)
    assert vjp_check(lambda t: t * t, x, order=2)


def test_vjp_check_rejects_order_zero():
    with pytest.raises(ValueError, match="order"):
        vjp_check(lambda t: t, np.ones(2), order=0)
