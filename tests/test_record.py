"""ta.record_backward(): the engine's own account of a backward pass."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_attn as ta
from tinygrad_attn import Tensor


def leaf(*shape, seed=0, dtype=np.float64):
    return Tensor(np.random.default_rng(seed).standard_normal(shape).astype(dtype), requires_grad=True)


def _rnn_like(seed, T, N, H, V, use_index):
    """A small RNN with an embedding lookup (indexing), one W_h shared by every step, and a loss."""
    rng = np.random.default_rng(seed)
    E = Tensor(rng.standard_normal((V, H)), requires_grad=True, name="E")
    W_h = Tensor(rng.standard_normal((H, H)) * 0.5, requires_grad=True, name="W_h")
    b = Tensor(rng.standard_normal(H), requires_grad=True, name="b")
    ids = rng.integers(0, V, size=(N, T))  # repeats: the scatter must accumulate
    x = E[ids] if use_index else (Tensor(rng.standard_normal((N, T, H))) @ E[:H])
    h = Tensor(np.zeros((N, H)))
    hs = []
    for t in range(T):
        with ta.scope(f"t={t + 1}"):
            h = (h @ W_h + x[:, t] + b).tanh()
        hs.append(h)
    loss = (ta.stack(hs, axis=1) ** 2).mean() + (h * b).sum()
    return loss, [E, W_h, b]


def _received(rec, tensor):
    """Sum, in recorded order, of the contributions that reached `tensor`."""
    parts = [c for _, _, c in rec.contributions_to(tensor)]
    total = parts[0]
    for c in parts[1:]:
        total = total + c
    return total


@settings(max_examples=15)
@given(
    seed=st.integers(0, 2**16),
    T=st.integers(1, 5),
    N=st.integers(1, 3),
    H=st.integers(1, 4),
    use_index=st.booleans(),
)
def test_contributions_sum_exactly_to_every_gradient(seed, T, N, H, use_index):
    loss, params = _rnn_like(seed, T, N, H, V=5, use_index=use_index)
    with ta.record_backward() as rec:
        loss.backward(retain_graph=True)
    for step in rec.steps[1:]:  # every node but the root got its gradient from its consumers
        np.testing.assert_array_equal(_received(rec, step.tensor), step.grad)
    for lf in rec.leaves:
        if lf.batched:  # W_h's per-step products, summed by one GEMM as in training
            assert lf.tensor.name == "W_h" and lf.batched == T
            np.testing.assert_allclose(_received(rec, lf.tensor), lf.grad, rtol=1e-12, atol=1e-12)
        else:
            np.testing.assert_array_equal(_received(rec, lf.tensor), lf.grad)
        np.testing.assert_array_equal(lf.tensor.grad.data, lf.grad)
    recorded = [p.grad.data.copy() for p in params]
    for p in params:
        p.grad = None
    loss.backward()  # the plain sweep: the recorded one gives its gradients bit for bit
    for r, p in zip(recorded, params):
        np.testing.assert_array_equal(p.grad.data, r)


def test_step_order_is_the_order_hooks_run_in():
    x = leaf(3)
    q = x * 3
    p = x * 2
    out = (p + q).tanh().sum()
    seen = []
    for t, name in [(q, "q"), (p, "p"), (out, "out")]:
        t.register_hook(lambda g, name=name: seen.append(name))
    with ta.record_backward() as rec:
        out.backward()
    order = {id(q): "q", id(p): "p", id(out): "out"}
    named = [order[id(s.tensor)] for s in rec.steps if id(s.tensor) in order]
    assert named == seen == ["out", "p", "q"]  # the engine runs p (created later) before q


def test_steps_carry_op_inputs_scope_and_the_arithmetic():
    x = leaf(2, 3)
    w = leaf(3, seed=1)
    with ta.scope("layer"):
        y = x * w
    loss = y.sum()
    with ta.record_backward() as rec:
        loss.backward()
    assert [s.op for s in rec.steps] == ["Sum", "Mul"]
    mul = rec.steps[1]
    assert mul.scope == "layer" and mul.inputs[0] is x and mul.tensor is y
    np.testing.assert_array_equal(mul.grad, np.ones((2, 3)))
    np.testing.assert_array_equal(mul.contributions[0], np.broadcast_to(w.data, (2, 3)))
    np.testing.assert_array_equal(mul.contributions[1], x.data.sum(axis=0))  # reduced to w's shape
    assert rec.grad_of(w) is not None and np.array_equal(rec.grad_of(w), w.grad.data)


def test_contributions_are_none_for_inputs_without_grad():
    x = leaf(3)
    c = Tensor(np.arange(3.0))
    with ta.record_backward() as rec:
        (x * c).sum().backward()
    assert rec.steps[1].contributions[1] is None


def test_every_backward_inside_appends_and_outside_records_nothing():
    x = leaf(3)
    with ta.record_backward() as rec:
        x.tanh().sum().backward()
        x.exp().sum().backward()
    assert rec.runs == 2 and [s.run for s in rec.steps] == [0, 0, 1, 1]
    np.testing.assert_allclose(rec.grad_of(x), x.grad.data)
    (x * 2).sum().backward()
    assert rec.runs == 2 and len(rec.steps) == 4


def test_recording_under_create_graph_stores_arrays():
    x = leaf(3)
    with ta.record_backward() as rec:
        (x**3).sum().backward(create_graph=True)
    assert all(isinstance(s.grad, np.ndarray) for s in rec.steps)
    np.testing.assert_allclose(rec.grad_of(x), 3 * x.data**2)
    (gx,) = [x.grad]
    gx.sum().backward()  # the recorded sweep still built a differentiable graph
    np.testing.assert_allclose(x.grad.data, 3 * x.data**2 + 6 * x.data)


def test_anomaly_and_recording_give_the_plain_gradients():
    def grads(ctx):
        loss, params = _rnn_like(3, 4, 2, 3, V=5, use_index=True)
        with ctx():
            loss.backward()
        return [p.grad.data for p in params]

    import contextlib

    plain = grads(contextlib.nullcontext)
    for g1, g2, g3 in zip(plain, grads(ta.detect_anomaly), grads(ta.record_backward)):
        np.testing.assert_allclose(g2, g1, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(g3, g1, rtol=1e-12, atol=1e-12)


def test_a_record_that_does_not_accumulate_leaves_grads_alone():
    x = leaf(3)
    x.grad = Tensor(np.full(3, 7.0))
    y = x.tanh()
    y.retain_grad()
    with ta.record_backward(accumulate=False) as rec:
        (y * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, 7.0)
    assert y.grad is None
    np.testing.assert_allclose(rec.grad_of(x), 2 * (1 - np.tanh(x.data) ** 2))
