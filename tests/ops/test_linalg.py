"""matmul with numpy's rules: 1-d, 2-d and batched operands with broadcast batch dimensions."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_attn import Tensor
from tinygrad_attn.testing import gradcheck, vjp_check
from tinygrad_attn.testing import strategies as tst

# (n?,k),(k,m?)->(n?,m?) with up to two broadcast batch dimensions
MATMUL_SHAPES = hnp.mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=2, max_side=3)


@given(shapes=MATMUL_SHAPES, data=st.data())
def test_matmul_all_ranks_first_and_second_order(shapes, data):
    sa, sb = shapes.input_shapes
    a = data.draw(tst.arrays(sa), label="a")
    b = data.draw(tst.arrays(sb), label="b")
    out = Tensor(a) @ Tensor(b)
    assert out.shape == shapes.result_shape
    np.testing.assert_allclose(out.data, a @ b, rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda x, y: x @ y, a, b)
    assert vjp_check(lambda x, y: x @ y, a, b, order=2)


@given(shapes=MATMUL_SHAPES, data=st.data())
def test_matmul_reflected_with_an_ndarray(shapes, data):
    sa, sb = shapes.input_shapes
    a = data.draw(tst.arrays(sa), label="a")
    b = data.draw(tst.arrays(sb), label="b")
    out = a @ Tensor(b)
    assert isinstance(out, Tensor)
    np.testing.assert_allclose(out.data, a @ b, rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda y: a @ y, b)
    assert gradcheck(lambda x: x @ b, a)


@pytest.mark.parametrize(
    "sa, sb",
    [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((4, 2, 3), (3, 2)), ((3,), (4, 3, 2)), ((2, 1, 2, 3), (5, 3, 1))],
)
def test_matmul_gradient_shapes_match_inputs(sa, sb):
    a = Tensor(np.ones(sa), requires_grad=True)
    b = Tensor(np.ones(sb), requires_grad=True)
    (a @ b).sum().backward()
    assert a.grad.shape == sa and b.grad.shape == sb
    assert gradcheck(
        lambda x, y: x @ y, np.linspace(-1, 1, a.data.size).reshape(sa), np.linspace(0, 2, b.data.size).reshape(sb)
    )
