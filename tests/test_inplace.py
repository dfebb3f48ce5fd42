"""In-place ops bump a version counter; backward through a changed saved tensor raises."""

import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import Tensor


def test_inplace_ops_bump_the_version():
    x = Tensor(np.zeros(3))
    assert x._version == 0
    x += 1
    x -= np.ones(3)
    x *= 2.0
    x /= Tensor(np.full(3, 2.0))
    x[0] = 5.0
    x[np.array([1, 1])] = 7.0
    assert x._version == 6
    np.testing.assert_array_equal(x.data, [5.0, 7.0, 0.0])


def test_inplace_keeps_the_same_tensor_and_dtype():
    x = Tensor([1.0, 2.0])
    before = id(x)
    x += 1.5
    assert id(x) == before and x.dtype == np.float32


def test_modified_saved_input_raises_naming_op_and_versions():
    x = Tensor(np.ones(3), requires_grad=True)
    c = Tensor(np.full(3, 2.0))
    y = (x * c).sum()
    c += 1  # Mul saved c at version 0
    with pytest.raises(RuntimeError, match=r"Mul: input 1 .*modified in place after .* \(now at version 1"):
        y.backward()


def test_setitem_on_saved_input_raises_too():
    x = Tensor(np.ones(3), requires_grad=True)
    c = Tensor(np.full(3, 2.0))
    y = (x * c).sum()
    c[0] = 5.0
    c[1] = 5.0
    with pytest.raises(RuntimeError, match=r"Mul: input 1 .*modified in place after .* \(now at version 2"):
        y.backward()


def test_modified_saved_output_raises():
    x = Tensor(np.ones(3), requires_grad=True)
    h = x.exp()  # Exp's backward reads its output
    with ta.no_grad():
        h += 1
    with pytest.raises(RuntimeError, match=r"Exp: its output .*modified in place after .* \(now at version 1"):
        h.sum().backward()


def test_unmodified_graph_still_works_after_unrelated_inplace():
    x = Tensor(np.ones(3), requires_grad=True)
    c = Tensor(np.full(3, 2.0))
    other = Tensor(np.zeros(3))
    y = (x * c).sum()
    other += 1
    y.backward()
    np.testing.assert_array_equal(x.grad.data, c.data)


def test_inplace_on_a_leaf_that_requires_grad_raises_at_once():
    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"iadd.*leaf.*\(3,\)"):
        x += 1
    with pytest.raises(RuntimeError, match=r"setitem.*leaf"):
        x[0] = 2.0
    np.testing.assert_array_equal(x.data, np.ones(3))
    assert x._version == 0


def test_inplace_on_a_leaf_is_allowed_under_no_grad():
    x = Tensor(np.ones(3), requires_grad=True)
    with ta.no_grad():
        x -= 0.5  # an optimizer step
    assert x._version == 1
    (x * 2).sum().backward()  # a new graph after the update is fine
    np.testing.assert_array_equal(x.grad.data, np.full(3, 2.0))


def test_inplace_on_an_intermediate_in_grad_mode_raises():
    x = Tensor(np.ones(3), requires_grad=True)
    h = x * 2
    with pytest.raises(RuntimeError, match=r"imul.*graph"):
        h *= 3


def test_inplace_with_a_grad_requiring_operand_raises():
    x = Tensor(np.ones(3), requires_grad=True)
    c = Tensor(np.zeros(3))
    with pytest.raises(RuntimeError, match="iadd"):
        c += x


def test_detach_shares_the_version_counter():
    x = Tensor(np.ones(3), requires_grad=True)
    y = x * 1.0
    z = y.tanh()  # saves its output, and Mul saved y's inputs
    w = (y * y).sum()
    d = y.detach()
    d += 4  # changes y's data under the graph
    assert y._version == d._version == 1
    with pytest.raises(RuntimeError, match=r"Mul: input 0 \(shape \(3,\)\) was modified in place"):
        w.backward()
    del z


def test_optimizer_step_bumps_versions_so_a_retained_graph_cannot_use_new_weights():
    w = Tensor(np.ones((2, 2)), requires_grad=True)
    x = Tensor(np.ones((1, 2)))
    loss = (x @ w).tanh().sum()
    loss.backward(retain_graph=True)
    opt = ta.optim.SGD([w], lr=0.1)
    opt.step()
    assert w._version == 1
    with pytest.raises(RuntimeError, match=r"MatMul: input 1 .* modified in place after .* \(now at version 1"):
        loss.backward()


def test_a_node_made_after_the_last_write_is_not_checked_and_one_before_is(monkeypatch):
    from tinygrad_attn import autograd

    checked = []
    original = autograd._check_node
    monkeypatch.setattr(autograd, "_check_node", lambda fn, out: checked.append(fn.name) or original(fn, out))
    a = Tensor(np.ones(3))
    a += 1  # a write before the graph: nothing to check
    x = Tensor(np.ones(3), requires_grad=True)
    (x * a).sum().backward()
    assert checked == []
    y = (x * a).sum()
    b = Tensor(np.ones(3))
    b += 1  # an unrelated write after the graph was made: checked, and fine
    y.backward()
    assert checked == ["Sum", "Mul"]
