"""ta.Function for users' own ops: what backward and hooks return is checked at once."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis.extra import numpy as hnp

import tinygrad_attn as ta
from tinygrad_attn import Tensor
from tinygrad_attn.testing import gradcheck


class Softplus(ta.Function):
    """log(1 + e^x); d/dx = sigmoid(x)."""

    def forward(self, x):
        return np.logaddexp(0, x)

    def backward(self, g, ins, out):
        return g * (1 - np.exp(-out))  # sigmoid(x) = 1 - e^-softplus(x); np.exp works on Tensors too


def returning(*grads_fn):
    """A one-input op (y = 2x) whose backward returns whatever `grads_fn(g)` gives."""

    class Custom(ta.Function):
        def forward(self, x):
            return 2 * x

        def backward(self, g, ins, out):
            return grads_fn[0](g)

    return Custom


def leaf(*shape):
    return Tensor(np.random.default_rng(0).standard_normal(shape), requires_grad=True)


@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=4), elements={"min_value": -5, "max_value": 5}))
def test_user_op_gradient_matches_central_differences(x):
    gradcheck(lambda t: Softplus.apply(t), [x])


def test_user_op_second_order_records_through_np_exp():
    x = leaf(4)
    (gx,) = [None]
    Softplus.apply(x).sum().backward(create_graph=True)
    gx = x.grad
    x.grad = None
    gx.sum().backward()
    s = 1 / (1 + np.exp(-x.data))
    np.testing.assert_allclose(x.grad.data, s * (1 - s))


def test_wrong_shape_names_op_input_and_both_shapes():
    op = returning(lambda g: np.ones((4, 3)))
    with pytest.raises(
        ValueError, match=r"Custom: backward returned a gradient of shape \(4, 3\) for input 0 of shape \(3, 4\)"
    ):
        op.apply(leaf(3, 4)).sum().backward()


def test_too_small_gradient_names_op():
    op = returning(lambda g: np.ones(3))
    with pytest.raises(ValueError, match=r"Custom: .*shape \(3,\) for input 0 of shape \(3, 4\)"):
        op.apply(leaf(3, 4)).sum().backward()


def test_two_gradients_for_one_input_raise():
    op = returning(lambda g: (g, g))
    with pytest.raises(ValueError, match="Custom: backward returned 2 gradients for 1 input"):
        op.apply(leaf(3)).sum().backward()


def test_broadcast_larger_gradient_for_an_elementwise_op_raises():
    op = returning(lambda g: np.ones((2, 3)))  # output (3,): the input was never broadcast
    with pytest.raises(ValueError, match=r"shape \(2, 3\) for input 0 of shape \(3,\)"):
        op.apply(leaf(3)).sum().backward()


def test_output_shaped_gradient_is_reduced_where_the_input_was_broadcast():
    class AddRow(ta.Function):
        def forward(self, a, b):
            return a + b

        def backward(self, g, ins, out):
            return g, g  # b (3,) was broadcast to (2, 3): the engine sums g back

    a, b = leaf(2, 3), leaf(3)
    AddRow.apply(a, b).sum().backward()
    np.testing.assert_array_equal(b.grad.data, np.full(3, 2.0))


def test_array_under_create_graph_is_an_error_not_a_dropped_graph():
    op = returning(lambda g: np.asarray(g.data) * 2)
    with pytest.raises(TypeError, match="Custom: backward returned an ndarray for input 0"):
        op.apply(leaf(3)).sum().backward(create_graph=True)


def test_hook_returning_the_wrong_shape_raises():
    x = leaf(3)
    y = x * 2
    y.register_hook(lambda g: np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"hook .*shape \(2, 3\) for a tensor of shape \(3,\)"):
        y.sum().backward()


def test_leaf_hook_returning_the_wrong_shape_raises():
    x = leaf(3)
    x.register_hook(lambda g: Tensor(np.ones(4)))
    with pytest.raises(ValueError, match=r"shape \(4,\) for a tensor of shape \(3,\)"):
        (x * 2).sum().backward()


def test_missing_forward_or_backward_names_the_op():
    class NoBackward(ta.Function):
        def forward(self, x):
            return x

    with pytest.raises(NotImplementedError, match="NoBackward: define backward"):
        NoBackward.apply(leaf(2)).sum().backward()


def test_numpy_ufuncs_record_ops_on_tensors():
    x = leaf(3)
    y = np.exp(x) + np.tanh(x) * np.sqrt(np.abs(x))
    assert isinstance(y, Tensor) and y.op is not None
    y.sum().backward()
    expected = (
        np.exp(x.data)
        + (1 - np.tanh(x.data) ** 2) * np.sqrt(np.abs(x.data))
        + np.tanh(x.data) * np.sign(x.data) * 0.5 / np.sqrt(np.abs(x.data))
    )
    np.testing.assert_allclose(x.grad.data, expected)


def test_a_ufunc_without_an_op_refuses_to_drop_the_graph():
    with pytest.raises(TypeError, match="np.sin: no op records this"):
        np.sin(leaf(3))
    np.testing.assert_allclose(np.sin(Tensor(np.zeros(2))), 0.0)  # constants: computed as before
    assert np.isnan(leaf(2)).dtype == bool  # no gradient to lose


def test_needs_input_grad():
    class Probe(ta.Function):
        def forward(self, a, b):
            return a * b

        def backward(self, g, ins, out):
            seen.append(self.needs_input_grad)
            return g * ins[1], None

    seen = []
    Probe.apply(leaf(2), Tensor(np.ones(2))).sum().backward()
    assert seen == [(True, False)]
