"""Tensor basics: dtype rules, 0-d scalars with every op, numpy interop, grad reset."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_attn as ta
from tinygrad_attn import Tensor
from tinygrad_attn import functional as F
from tinygrad_attn.testing import gradcheck, vjp_check
from tinygrad_attn.testing import strategies as tst


# ---- dtype rules -----------------------------------------------------------------------------
@pytest.mark.parametrize("data", [1.5, [1.0, 2.0], [[1.0], [2.0]], (0.5,)])
def test_python_floats_become_float32(data):
    assert Tensor(data).dtype == np.float32


@pytest.mark.parametrize("data", [np.ones(3), np.float64(2.0), np.array(2.0)])
def test_float64_input_stays_float64(data):
    assert Tensor(data).dtype == np.float64


def test_dtype_argument_wins():
    assert Tensor([1.0], dtype=np.float64).dtype == np.float64
    assert Tensor(np.ones(2), dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(number=st.one_of(st.integers(-5, 5), st.floats(-1e3, 1e3)))
def test_a_python_number_never_changes_the_dtype(dtype, number):
    x = Tensor(np.array([1.5, 2.5], dtype=dtype), requires_grad=True)
    results = [x + number, number + x, x - number, number - x, x * number, number * x, x / 2.0, x**2, 2.0**x]
    results += [x.maximum(number), x.clip(number, None), ta.where(np.array([True, False]), x, number)]
    for r in results:
        assert r.dtype == dtype
    (results[0] * results[4]).sum().backward()
    assert x.grad.dtype == dtype


def test_float32_graph_keeps_float32_gradients_everywhere():
    x = Tensor([[0.5, -1.0, 2.0]], requires_grad=True)
    w = Tensor([[1.0], [2.0], [3.0]], requires_grad=True)
    loss = F.cross_entropy((x @ w).tanh().exp() * x, np.array([1]))
    loss.backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32 and w.grad.dtype == np.float32


def test_integer_data_stays_integer():
    x = Tensor([1, 2, 3])
    assert x.dtype.kind == "i" and not x.requires_grad
    assert (x + 1).dtype.kind == "i"
    assert ta.arange(4).dtype.kind == "i"


def test_bool_comparisons_make_constant_tensors():
    x = Tensor([1.0, -1.0], requires_grad=True)
    m = x > 0
    assert m.dtype == bool and not m.requires_grad
    np.testing.assert_array_equal(m.data, [True, False])


# ---- numpy interop -----------------------------------------------------------------------------
def test_np_asarray_gives_the_data():
    x = Tensor(np.arange(6.0).reshape(2, 3))
    a = np.asarray(x)
    assert isinstance(a, np.ndarray) and a.shape == (2, 3)
    np.testing.assert_array_equal(a, x.data)
    assert np.asarray(x, dtype=np.float32).dtype == np.float32
    assert x.numpy() is x.data


@pytest.mark.parametrize(
    "f", [lambda a, t: a + t, lambda a, t: a - t, lambda a, t: a * t, lambda a, t: a / t, lambda a, t: a @ t.T]
)
def test_ndarray_op_tensor_is_a_tensor_with_a_graph(f):
    a = np.full((2, 3), 2.0)
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    y = f(a, x)
    assert isinstance(y, Tensor) and y.requires_grad
    y.sum().backward()
    assert x.grad.shape == (2, 3)


def test_item_len_bool_and_repr():
    x = Tensor(np.array([[1.0, 2.0]]), requires_grad=True, name="w")
    assert len(x) == 1 and x.ndim == 2 and x.size == 2
    assert Tensor(3.0).item() == 3.0 and isinstance(Tensor(3.0).item(), float)
    assert bool(Tensor(1.0)) and not bool(Tensor(0.0))
    r = repr(x * 2)
    assert "requires_grad=True" in r and "op=Mul" in r
    assert "name='w'" in repr(x)


# ---- grad assignment ---------------------------------------------------------------------------
def test_grad_is_a_tensor_and_assigning_none_resets_it():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * x).sum().backward()
    assert isinstance(x.grad, Tensor)
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [4.0, 8.0])
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])


def test_grad_can_be_assigned_a_tensor():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    x.grad = Tensor(np.array([10.0, 10.0]))
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [13.0, 13.0])


def test_leaf_properties():
    x = Tensor(np.ones(2), requires_grad=True)
    y = x * 2
    assert x.is_leaf and x.op is None
    assert not y.is_leaf and type(y.op).__name__ == "Mul" and y.op.inputs[0] is x


# ---- 0-d scalars: one engine for scalar and tensor graphs ----------------------------------------
SCALAR_UNARY = {
    "neg": lambda x: -x,
    "exp": lambda x: x.exp(),
    "log": lambda x: x.log(),
    "sqrt": lambda x: x.sqrt(),
    "tanh": lambda x: x.tanh(),
    "sigmoid": lambda x: x.sigmoid(),
    "relu": lambda x: x.relu(),
    "abs": lambda x: x.abs(),
    "clip": lambda x: x.clip(0.0, 1.0),
    "pow": lambda x: x**2.5,
    "rpow": lambda x: 3.0**x,
    "sum": lambda x: x.sum(),
    "mean": lambda x: x.mean(),
    "max": lambda x: x.max(),
    "logsumexp": lambda x: x.logsumexp(),
    "reshape": lambda x: x.reshape(1, 1),
    "reshape_back": lambda x: x.reshape(1).reshape(()),
    "transpose": lambda x: x.transpose(),
    "T": lambda x: x.T,
    "getitem": lambda x: x[()],
    "newaxis": lambda x: x[None],
    "stack": lambda x: ta.stack([x, x * 2]),
    "where": lambda x: ta.where(np.array(True), x, 0.0),
    "matmul_lifted": lambda x: x.reshape(1) @ x.reshape(1),
    "softmax_lifted": lambda x: x.reshape(1).softmax(),
    "layer_norm_lifted": lambda x: F.layer_norm(ta.stack([x, x * x]), eps=1e-3),
    "mse_loss": lambda x: F.mse_loss(x, Tensor(0.25, dtype=x.dtype)),
}
SCALAR_BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
    "maximum": lambda a, b: a.maximum(b),
    "with_vector": lambda a, b: (a * ta.stack([b, b + 1])).sum(),
}


@pytest.mark.parametrize("name", list(SCALAR_UNARY))
def test_zero_d_scalar_unary(name):
    f = SCALAR_UNARY[name]
    x = np.array(0.7)
    y = f(Tensor(0.7))
    assert y.dtype == np.float32  # Tensor(0.7) is float32, and so is everything made from it
    assert gradcheck(f, x)
    assert vjp_check(f, x, order=1)


@pytest.mark.parametrize("name", list(SCALAR_BINARY))
def test_zero_d_scalar_binary(name):
    f = SCALAR_BINARY[name]
    a, b = np.array(0.7), np.array(1.3)
    assert f(Tensor(0.7), Tensor(1.3)).dtype == np.float32
    assert gradcheck(f, a, b)


@given(x=tst.arrays(()), data=st.data())
def test_micrograd_style_scalar_expression(x, data):
    b = data.draw(tst.arrays((), domain="positive"))

    def f(x, b):
        y = x * 2 + b * x - 3
        z = (y.tanh() + (b * b).sqrt() - y.relu()) / b
        return z**2 + y.sigmoid() * b.log()

    out = f(Tensor(x), Tensor(b))
    assert out.shape == ()
    if abs(float(x) * 2 + float(b) * float(x) - 3) > 1e-3:  # relu's kink
        assert gradcheck(f, x, b)


def test_equality_is_elementwise_and_tensors_stay_hashable():
    t = Tensor([0.0, 1.0, 0.0])
    eq, ne = t == 0, t != 0
    assert isinstance(eq, Tensor) and eq.dtype == bool and not eq.requires_grad
    np.testing.assert_array_equal(eq.data, [True, False, True])
    np.testing.assert_array_equal(ne.data, [False, True, False])
    np.testing.assert_array_equal((t == Tensor([0.0, 2.0, 0.0])).data, [True, False, True])
    u = Tensor([0.0, 1.0, 0.0])
    assert len({t, u}) == 2 and {t: 1}[t] == 1  # hashing is by identity
    x = Tensor([1.0, 2.0], requires_grad=True)
    assert not (x == 1).requires_grad
