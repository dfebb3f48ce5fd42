"""Bad input fails at the call that caused it, with an error naming the op and the shapes.

One test per error case. Each message must name the op and every shape involved.
"""

import re

import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import Tensor
from tinygrad_attn import functional as F


def t(*shape):
    return Tensor(np.ones(shape), requires_grad=True)


def raises(exc, *parts):
    """pytest.raises matching every part (op name, shapes) literally, in order."""
    return pytest.raises(exc, match=".*".join(re.escape(str(p)) for p in parts))


# ---- matmul -----------------------------------------------------------------------------------
def test_matmul_inner_dimensions_differ():
    with raises(ValueError, "matmul: (3, 4) @ (5, 2): inner dimensions 4 and 5 differ"):
        t(3, 4) @ t(5, 2)


def test_matmul_vector_inner_dimensions_differ():
    with raises(ValueError, "matmul", (3,), (4,), "3", "4"):
        t(3) @ t(4)


def test_matmul_batch_dimensions_do_not_broadcast():
    with raises(ValueError, "matmul", (2, 3, 4), (3, 4, 2), "batch"):
        t(2, 3, 4) @ t(3, 4, 2)


def test_matmul_with_a_scalar_operand():
    with raises(ValueError, "matmul", (), (3, 4)):
        Tensor(2.0) @ t(3, 4)


# ---- broadcasting -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "op, f",
    [
        ("add", lambda a, b: a + b),
        ("sub", lambda a, b: a - b),
        ("mul", lambda a, b: a * b),
        ("div", lambda a, b: a / b),
        ("pow", lambda a, b: a**b),
        ("maximum", lambda a, b: a.maximum(b)),
    ],
)
def test_binary_op_shapes_do_not_broadcast(op, f):
    with raises(ValueError, f"{op}:", (3, 4), (2, 3), "broadcast"):
        f(t(3, 4), t(2, 3))


def test_ndarray_on_the_left_does_not_broadcast():
    with raises(ValueError, "add:", (2, 3), (3, 4)):
        np.ones((2, 3)) + t(3, 4)


def test_where_shapes_do_not_broadcast():
    with raises(ValueError, "where", (2, 3), (3, 4)):
        ta.where(np.ones((2, 3), bool), t(3, 4), t(3, 4))


# ---- movement -------------------------------------------------------------------------------
def test_reshape_size_mismatch():
    with raises(ValueError, "reshape", (3, 4), "12", (5, 2)):
        t(3, 4).reshape(5, 2)


def test_reshape_with_minus_one_that_cannot_fit():
    with raises(ValueError, "reshape", (3, 4), (-1, 5)):
        t(3, 4).reshape(-1, 5)


def test_transpose_axes_not_a_permutation():
    with raises(ValueError, "transpose", (0, 0), (3, 4)):
        t(3, 4).transpose(0, 0)


def test_swapaxes_axis_out_of_range():
    with raises(ValueError, "swapaxes", (3, 4)):
        t(3, 4).swapaxes(0, 2)


def test_concat_shapes_differ_outside_the_axis():
    with raises(ValueError, "concat", (3, 4), (2, 3)):
        ta.concat([t(3, 4), t(2, 3)], 0)


def test_concat_axis_out_of_range():
    with raises(ValueError, "concat", "axis 2", (3, 4)):
        ta.concat([t(3, 4), t(3, 4)], 2)


def test_concat_of_different_ranks():
    with raises(ValueError, "concat", (3, 4), (3,)):
        ta.concat([t(3, 4), t(3)], 0)


def test_concat_needs_a_list_not_a_tensor():
    with raises(TypeError, "concat", "list"):
        ta.concat(t(3, 4), 0)


def test_stack_shapes_differ():
    with raises(ValueError, "stack", (3, 4), (2, 3)):
        ta.stack([t(3, 4), t(2, 3)])


def test_stack_axis_out_of_range():
    with raises(ValueError, "stack", "axis 3", (3, 4)):
        ta.stack([t(3, 4), t(3, 4)], 3)


# ---- indexing -------------------------------------------------------------------------------
def test_getitem_int_out_of_range():
    with raises(IndexError, "getitem", "3", (3, 4)):
        t(3, 4)[3]


def test_getitem_second_axis_out_of_range():
    with raises(IndexError, "getitem", "7", "axis 1", (3, 4)):
        t(3, 4)[0, 7]


def test_getitem_integer_array_out_of_range():
    with raises(IndexError, "getitem", "3", (3, 4)):
        t(3, 4)[np.array([0, 3])]


def test_getitem_negative_index_out_of_range():
    with raises(IndexError, "getitem", "-4", (3, 4)):
        t(3, 4)[np.array([-4])]


def test_getitem_boolean_mask_of_wrong_length():
    with raises(IndexError, "getitem", "5", (3, 4)):
        t(3, 4)[np.ones(5, bool)]


def test_getitem_too_many_indices():
    with raises(IndexError, "getitem", (3, 4)):
        t(3, 4)[0, 0, 0]


def test_getitem_float_index_array():
    with raises(IndexError, "getitem", "float64"):
        t(3, 4)[np.array([0.5])]


def test_setitem_index_out_of_range():
    x = Tensor(np.ones((3, 4)))
    with raises(IndexError, "setitem", "7", (3, 4)):
        x[7] = 1.0


def test_inplace_add_shape_mismatch():
    x = Tensor(np.ones((3, 4)))
    with raises(ValueError, "iadd", (3, 4), (5,)):
        x += np.ones(5)


# ---- reductions and axes ---------------------------------------------------------------------
@pytest.mark.parametrize("op", ["sum", "mean", "max", "logsumexp"])
def test_reduction_axis_out_of_range(op):
    with raises(ValueError, f"{op}:", "axis 2", (3, 4)):
        getattr(t(3, 4), op)(axis=2)


@pytest.mark.parametrize("op", ["sum", "mean", "max", "logsumexp"])
def test_reduction_negative_axis_out_of_range_in_a_tuple(op):
    with raises(ValueError, f"{op}:", "axis -3", (3, 4)):
        getattr(t(3, 4), op)(axis=(0, -3))


@pytest.mark.parametrize("op", ["sum", "mean", "max", "logsumexp"])
def test_reduction_axis_of_wrong_type(op):
    with raises(TypeError, f"{op}:", "1.5", (3, 4)):
        getattr(t(3, 4), op)(axis=1.5)


def test_reduction_repeated_axis():
    with raises(ValueError, "sum", "repeated", (3, 4)):
        t(3, 4).sum(axis=(0, 0))


def test_mean_of_zero_elements():
    with raises(ValueError, "mean", (0, 3)):
        Tensor(np.ones((0, 3))).mean(axis=0)


def test_max_of_an_empty_tensor():
    with raises(ValueError, "max", (0, 3)):
        Tensor(np.ones((0, 3))).max()


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_axis_out_of_range(op):
    with raises(ValueError, f"{op}:", "axis 2", (3, 4)):
        getattr(t(3, 4), op)(2)


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_of_a_scalar_has_no_axis(op):
    with raises(ValueError, f"{op}:", "()"):
        getattr(Tensor(1.0), op)()


def test_clip_bounds_reversed():
    with raises(ValueError, "clip", "1", "0", (3, 4)):
        t(3, 4).clip(1, 0)


# ---- functional -------------------------------------------------------------------------------
def test_cross_entropy_target_above_range():
    with raises(ValueError, "cross_entropy", "target 4", "4 classes", (3, 4)):
        F.cross_entropy(t(3, 4), np.array([0, 1, 4]))


def test_cross_entropy_negative_target():
    with raises(ValueError, "cross_entropy", "target -1", (3, 4)):
        F.cross_entropy(t(3, 4), np.array([0, -1, 2]))


def test_cross_entropy_float_targets():
    with raises(TypeError, "cross_entropy", "float64", (3,)):
        F.cross_entropy(t(3, 4), np.array([0.0, 1.0, 2.0]))


def test_cross_entropy_targets_of_wrong_shape():
    with raises(ValueError, "cross_entropy", (3, 4), (3,), (2,)):
        F.cross_entropy(t(3, 4), np.array([0, 1]))


def test_cross_entropy_every_target_ignored():
    with raises(ValueError, "cross_entropy", "ignore_index=-100"):
        F.cross_entropy(t(3, 4), np.array([-100, -100, -100]), ignore_index=-100)


def test_embedding_index_out_of_range():
    with raises(IndexError, "embedding", "7", (3, 4)):
        F.embedding(np.array([0, 7]), t(3, 4))


def test_embedding_float_indices():
    with raises(TypeError, "embedding", "indices", "float64", (2,)):
        F.embedding(np.array([0.0, 1.0]), t(3, 4))


def test_mse_loss_shapes_differ():
    with raises(ValueError, "mse_loss", (3, 4), (2, 3)):
        F.mse_loss(t(3, 4), t(2, 3))


def test_layer_norm_weight_of_wrong_shape():
    with raises(ValueError, "layer_norm", (3,), (3, 4), "(4,)"):
        F.layer_norm(t(3, 4), t(3))


def test_dropout_probability_out_of_range():
    with raises(ValueError, "dropout", "1.5"):
        F.dropout(t(3, 4), 1.5)


# ---- construction ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "data", ["abc", [1.0, "a"], object(), None, [[1.0], [1.0, 2.0]]], ids=["str", "mixed", "object", "none", "ragged"]
)
def test_non_numeric_data(data):
    with raises(TypeError, "Tensor", "numeric"):
        Tensor(data)


def test_integer_data_cannot_require_grad():
    with raises(TypeError, "Tensor", "int64"):
        Tensor(np.array([1, 2]), requires_grad=True)


def test_integer_tensor_cannot_be_switched_to_require_grad():
    with raises(TypeError, "requires_grad_", "int64"):
        Tensor(np.array([1, 2])).requires_grad_()


def test_item_of_a_tensor_with_many_elements():
    with raises(ValueError, "item", (3, 4)):
        t(3, 4).item()


def test_backward_seed_of_wrong_shape():
    with raises(ValueError, "backward", (4,), (3,)):
        t(3).exp().backward(np.ones(4))


def test_where_condition_not_boolean():
    with raises(TypeError, "where", "float64"):
        ta.where(np.ones((3, 4)), t(3, 4), t(3, 4))
