"""backward(): accumulation, retain_graph, create_graph, hooks, scopes, memory, deep graphs."""

import gc
import weakref

import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import Tensor


def leaf(*shape, seed=0):
    return Tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


def test_leaf_grads_accumulate_across_calls():
    x = leaf(3)
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.full(3, 5.0))
    x.grad = None
    (x * 1).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.ones(3))


def test_second_backward_raises_unless_retained():
    x = leaf(3)
    y = x.tanh().sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.data, 2 * (1 - np.tanh(x.data) ** 2))
    with pytest.raises(RuntimeError, match="Tanh|Sum.*second time"):
        y.backward()


def test_non_scalar_backward_needs_grad_and_names_shape():
    y = leaf(2, 3) * 2
    with pytest.raises(RuntimeError, match=r"\(2, 3\)"):
        y.backward()
    y.backward(np.ones((2, 3)))


def test_retain_grad_keeps_intermediate_grads():
    x = leaf(3)
    h = x * 2
    loss = h.tanh().sum()
    loss.backward(retain_grad=True)
    np.testing.assert_allclose(h.grad.data, 1 - np.tanh(h.data) ** 2)
    h2 = (x * 2).retain_grad()
    (h2 * 3).sum().backward()
    np.testing.assert_allclose(h2.grad.data, np.full(3, 3.0))


@pytest.mark.parametrize(
    "f, d2",
    [
        (lambda x: x.tanh(), lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2)),
        (lambda x: x.exp(), np.exp),
        (lambda x: x.sigmoid(), lambda x: (s := 1 / (1 + np.exp(-x))) * (1 - s) * (1 - 2 * s)),
        (lambda x: x * x * x, lambda x: 6 * x),
    ],
)
def test_grad_of_grad_matches_second_derivative(f, d2):
    x = leaf(5)
    f(x).sum().backward(create_graph=True)
    g = x.grad
    assert g.requires_grad
    x.grad = None
    g.sum().backward()
    np.testing.assert_allclose(x.grad.data, d2(x.data), rtol=1e-10, atol=1e-12)


def test_grad_of_grad_through_matmul_and_softmax():
    x, w = leaf(2, 3), leaf(3, 4, seed=1)
    ((x @ w).softmax(-1) * np.arange(4.0)).sum().backward(create_graph=True)
    gx = x.grad
    x.grad = w.grad = None
    (gx * gx).sum().backward()
    assert w.grad is not None and np.isfinite(w.grad.data).all()


def test_no_grad_records_nothing_and_enable_grad_restores():
    x = leaf(3)
    with ta.no_grad():
        y = x * 2
        with ta.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.op is None
    assert z.requires_grad and z.op is not None


def test_hook_sees_and_replaces_gradient():
    x = leaf(3)
    h = x * 2
    seen = []
    h.register_hook(lambda g: seen.append(g.data.copy()) or g * 10)
    h.sum().backward()
    np.testing.assert_allclose(seen[0], np.ones(3))
    np.testing.assert_allclose(x.grad.data, np.full(3, 20.0))


def test_detach_cuts_the_graph():
    x = leaf(3)
    h = x * 2
    y = h.detach()
    assert not y.requires_grad and y.op is None
    assert np.shares_memory(y.data, h.data)


def test_scopes_nest_and_are_recorded():
    x = leaf(2)
    with ta.scope("encoder"):
        with ta.scope("t=3"):
            y = x.tanh()
        z = y * 2
    w = z + 1
    assert y.op.scope == "encoder/t=3"
    assert z.op.scope == "encoder"
    assert w.op.scope == ""


def test_long_scalar_chain_backward_is_iterative():
    x = Tensor(0.5, requires_grad=True, dtype=np.float64)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_wide_fan_in_backward():
    x = leaf(1)
    parts = [x * float(i) for i in range(10_000)]
    total = ta.concat(parts, 0).sum()
    total.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.data, [sum(range(10_000))])
    y = parts[0]
    for p in parts[1:200]:
        y = y + p
    x.grad = None
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [sum(range(200))])


def test_graph_is_freed_without_the_garbage_collector():
    gc.disable()
    try:
        x = leaf(4)
        h = (x * 2).tanh()
        ref = weakref.ref(h)
        loss = h.sum()
        loss.backward()
        del h
        assert ref() is not None  # kept alive by the graph of loss
        del loss
        assert ref() is None
    finally:
        gc.enable()
