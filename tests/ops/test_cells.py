"""The fused LSTM cell: central differences (first and second order), the op-level graph, errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_attn as ta
from tinygrad_attn import Tensor
from tinygrad_attn.ops.cells import LSTMCell
from tinygrad_attn.testing import gradcheck, vjp_check


def _op_level(a, c):
    """The op-level cell of nn.LSTM, gates [f, g, i, o]: -> [h, c] (N, 2H)."""
    H = a.shape[1] // 4
    f, g, i, o = a[:, :H].sigmoid(), a[:, H : 2 * H].tanh(), a[:, 2 * H : 3 * H].sigmoid(), a[:, 3 * H :].sigmoid()
    c = g * i if c is None else f * c + g * i
    return ta.concat([o * c.tanh(), c], axis=1)


cells = st.tuples(st.integers(1, 3), st.integers(1, 3), st.booleans(), st.integers(0, 2**16))


def _draw(n, h, seed, scale=2.0):
    rng = np.random.default_rng(seed)
    return rng.normal(0, scale, (n, 4 * h)), rng.normal(0, scale, (n, h))


@settings(deadline=None)
@given(cells)
def test_fused_cell_gradients_match_central_differences_first_and_second_order(case):
    n, h, with_c, seed = case
    a, c = _draw(n, h, seed)
    if with_c:
        assert gradcheck(lambda a, c: LSTMCell.apply(a, c), a, c)
        assert vjp_check(lambda a, c: LSTMCell.apply(a, c), a, c, order=2)
    else:
        assert gradcheck(lambda a: LSTMCell.apply(a), a)
        assert vjp_check(lambda a: LSTMCell.apply(a), a, order=2)


@settings(deadline=None)
@given(cells)
def test_fused_cell_equals_the_op_level_cell(case):
    n, h, with_c, seed = case
    a, c = _draw(n, h, seed)
    u = np.random.default_rng(seed + 1).normal(size=(n, 2 * h))
    results = []
    for cell in (lambda a, c: LSTMCell.apply(a) if c is None else LSTMCell.apply(a, c), _op_level):
        ta_a, ta_c = Tensor(a, requires_grad=True), Tensor(c, requires_grad=True) if with_c else None
        out = cell(ta_a, ta_c)
        (out * u).sum().backward()
        results.append((out.data, ta_a.grad.data, ta_c.grad.data if with_c else None))
    (y1, ga1, gc1), (y2, ga2, gc2) = results
    np.testing.assert_array_equal(y1, y2)  # the same formulas in the same order: the same bits
    np.testing.assert_allclose(ga1, ga2, rtol=1e-12, atol=1e-14)
    if with_c:
        np.testing.assert_allclose(gc1, gc2, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_lstm_layer_equals_the_op_level_layer(dtype):
    rng = np.random.default_rng(0)
    W_x, W_h, b = rng.normal(0, 0.5, (5, 16)), rng.normal(0, 0.5, (4, 16)), rng.normal(0, 0.5, 16)
    x = rng.normal(size=(3, 6, 5)).astype(dtype)
    h0 = Tensor(rng.normal(size=(3, 4)).astype(dtype))
    grads = []
    for fused in (False, True):
        layer = ta.nn.LSTM.from_weights(W_x.astype(dtype), W_h.astype(dtype), b.astype(dtype), fused=fused)
        xt = Tensor(x, requires_grad=True)
        hs, (h, c) = layer(xt, h0)
        ((hs * hs).sum() + (c * 0.5).sum()).backward()
        grads.append([hs.data, c.data, xt.grad.data] + [p.grad.data for p in layer.parameters()])
    assert grads[1][0].dtype == dtype
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for g_op, g_fused in zip(*grads):
        np.testing.assert_allclose(g_fused, g_op, rtol=tol, atol=tol)


def test_fused_cell_draws_as_one_box_and_op_level_stays_the_default():
    import viz

    x = Tensor(np.ones((2, 3, 5), np.float32))
    layer = ta.nn.LSTM(5, 4)
    assert not layer.fused and "fused" not in repr(layer)
    hs, _ = layer(x)
    assert "LSTMCell" not in viz.draw(hs.sum()).source
    layer.fused = True
    hs, _ = layer(x)
    dot = viz.draw(hs.sum()).source
    assert dot.count("LSTMCell") >= 3 and "Sigmoid" not in dot and "fused=True" in repr(layer)


def test_fused_cell_errors_name_the_op_and_shapes():
    with pytest.raises(ValueError, match=r"LSTMCell: pre-activation of shape \(2, 6\) must be \(N, 4H\)"):
        LSTMCell.apply(Tensor(np.zeros((2, 6))))
    with pytest.raises(ValueError, match=r"LSTMCell: cell state of shape \(2, 3\) must be \(2, 2\)"):
        LSTMCell.apply(Tensor(np.zeros((2, 8))), Tensor(np.zeros((2, 3))))
    with pytest.raises(ValueError, match="GRU: fused=True exists for the LSTM only"):
        ta.nn.GRU(3, 4, fused=True)


def test_seq2seq_fuse_cells_switches_both_lstms_and_keeps_the_numbers():
    rng = np.random.default_rng(1)
    src, tgt = rng.integers(0, 7, (4, 5)), rng.integers(0, 7, (4, 3))
    np.random.seed(3)
    model = ta.nn.AttentionSeq2Seq(7, 4, 6, score="dot")
    op_level = model(src, tgt).data
    assert model.fuse_cells() is model and model.encoder.fused and model.decoder.fused
    np.testing.assert_allclose(model(src, tgt).data, op_level, rtol=1e-6)
    assert not model.fuse_cells(False).decoder.fused


steps = st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(0, 2**16))


def _draw_step(n, h, k, seed, scale=1.0):
    rng = np.random.default_rng(seed)
    a, c = _draw(n, h, seed)
    return a, c, rng.normal(0, scale, (n, k)), rng.normal(0, scale, (k, 4 * h))


@settings(deadline=None)
@given(steps)
def test_fused_step_with_the_recurrent_product_matches_central_differences(case):
    n, h, k, seed = case
    a, c, h_prev, W_h = _draw_step(n, h, k, seed)
    step = lambda a, c, h_prev, W_h: LSTMCell.apply(a, c, h_prev, W_h)  # noqa: E731
    assert gradcheck(step, a, c, h_prev, W_h)
    assert vjp_check(step, a, c, h_prev, W_h, order=2)


@settings(deadline=None)
@given(steps)
def test_fused_step_equals_the_op_level_step(case):
    n, h, k, seed = case
    a, c, h_prev, W_h = _draw_step(n, h, k, seed)
    u = np.random.default_rng(seed + 1).normal(size=(n, 2 * h))
    results = []
    for fused in (True, False):
        ts = [Tensor(v, requires_grad=True) for v in (a, c, h_prev, W_h)]
        ta_a, ta_c, ta_h, ta_W = ts
        out = LSTMCell.apply(ta_a, ta_c, ta_h, ta_W) if fused else _op_level(ta_a + ta_h @ ta_W, ta_c)
        (out * u).sum().backward()
        results.append([out.data] + [t.grad.data for t in ts])
    np.testing.assert_array_equal(results[0][0], results[1][0])  # a + h W_h summed alike: the same bits
    for g_fused, g_op in zip(results[0][1:], results[1][1:]):
        np.testing.assert_allclose(g_fused, g_op, rtol=1e-12, atol=1e-14)


def test_fused_step_errors_name_the_op_and_shapes():
    a, c = Tensor(np.zeros((2, 8))), Tensor(np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"LSTMCell: h_prev of shape \(2, 3\) and W_h of shape \(2, 8\) must be"):
        LSTMCell.apply(a, c, Tensor(np.zeros((2, 3))), Tensor(np.zeros((2, 8))))
    with pytest.raises(ValueError, match=r"LSTMCell: h_prev of shape \(3, 2\) and W_h of shape \(2, 8\) must be"):
        LSTMCell.apply(a, c, Tensor(np.zeros((3, 2))), Tensor(np.zeros((2, 8))))
    with pytest.raises(ValueError, match=r"LSTMCell: h_prev of shape \(2, 2\) and W_h of shape None must be"):
        LSTMCell.apply(a, c, Tensor(np.zeros((2, 2))))


def test_fused_step_backward_rule_gives_what_the_sweep_hands_on():
    """The sweep takes the step's fast path (`vjp`); `backward` on arrays is the same rule."""
    a, c, h_prev, W_h = _draw_step(2, 3, 2, 7)
    ts = [Tensor(v, requires_grad=True) for v in (a, c, h_prev, W_h)]
    out = LSTMCell.apply(*ts)
    u = np.random.default_rng(8).normal(size=out.shape)
    rule = out._ctx.backward(u, tuple(t.data for t in ts), out.data)
    (out * u).sum().backward()
    assert len(rule) == 4
    for r, t in zip(rule, ts):
        np.testing.assert_allclose(r, t.grad.data, rtol=1e-12, atol=1e-14)


def test_fused_step_with_a_constant_state_still_gives_the_other_gradients():
    a, c, h_prev, W_h = _draw_step(3, 2, 2, 11)
    results = []
    for fused in (True, False):
        ta_a, ta_c, ta_W = (Tensor(v, requires_grad=True) for v in (a, c, W_h))
        ta_h = Tensor(h_prev)  # no gradient wanted: the fast path skips its GEMM
        out = LSTMCell.apply(ta_a, ta_c, ta_h, ta_W) if fused else _op_level(ta_a + ta_h @ ta_W, ta_c)
        out.sum().backward()
        assert ta_h.grad is None
        results.append([t.grad.data for t in (ta_a, ta_c, ta_W)])
    for g_fused, g_op in zip(*results):
        np.testing.assert_allclose(g_fused, g_op, rtol=1e-12, atol=1e-14)
