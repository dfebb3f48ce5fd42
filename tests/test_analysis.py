"""analysis: the studied RNN/LSTM are nn.RNN/nn.LSTM, checked against numpy BPTT and finite differences."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_attn as ta
from tinygrad_attn import nn
from tinygrad_attn.commands import analysis


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def _numpy_lstm_step(x, h, c, W_x, W_h, b):
    """The LSTM equations with the gate blocks read from nn.LSTM.gate_order: (1, D), (1, H), (1, H) -> h, c."""
    H = h.shape[-1]
    a = h @ W_h + x @ W_x + b
    gate = {name: a[:, nn.LSTM.gate_columns(name, H)] for name in nn.LSTM.gate_order}
    c = _sigmoid(gate["f"]) * c + np.tanh(gate["g"]) * _sigmoid(gate["i"])
    return _sigmoid(gate["o"]) * np.tanh(c), c


@settings(max_examples=15)
@given(T=st.integers(1, 8), H=st.integers(1, 5), radius=st.sampled_from([None, 0.5, 1.0, 2.0]), seed=st.integers(0, 99))
def test_rnn_gradient_norms_match_numpy_bptt(T, H, radius, seed):
    loss, hs, p = analysis.unroll_tanh_rnn(T=T, H=H, radius=radius, seed=seed)
    loss.backward()
    W_h, W_x, xs = analysis._tanh_rnn_arrays(T, H, H, radius, seed)
    states, h = [], np.zeros((1, H))
    for x in xs:
        h = np.tanh(h @ W_h + x @ W_x)
        states.append(h)
    np.testing.assert_allclose(np.concatenate([h.data for h in hs]), np.concatenate(states), atol=1e-12)
    g, expected = np.ones((1, H)), []  # dL/dh_T for L = sum(h_T), then back through each step
    for h in reversed(states):
        expected.append(np.linalg.norm(g))
        g = (g * (1 - h**2)) @ W_h.T
    np.testing.assert_allclose(analysis.gradient_norms(hs), expected[::-1], rtol=1e-10)


def test_the_studied_rnn_is_nn_rnn_in_its_per_step_form():
    loss, hs, p = analysis.unroll_tanh_rnn(T=3, H=4, radius=1.0)
    assert list(p) == ["W_x", "W_h", "b"] and all(isinstance(v, nn.Parameter) for v in p.values())
    assert [h.name for h in hs] == ["h_1", "h_2", "h_3"]
    assert [h.op.scope for h in hs] == ["t=1", "t=2", "t=3"]
    pre = hs[1].op.inputs[0].op.inputs[0]  # tanh <- (+ b) <- h_1 W_h + x_2 W_x
    assert [i.op.name for i in pre.op.inputs] == ["MatMul", "MatMul"]
    assert [i.op.inputs[0].name for i in pre.op.inputs] == ["h_1", "x_2"]
    assert pre.op.inputs[0].op.inputs[1] is p["W_h"]


def test_lstm_matches_the_documented_gate_order():
    T, H = 5, 3
    loss, hs, p = analysis.unroll_lstm(T=T, H=H, seed=4, forget_bias=2.0)
    W_x, W_h, b, xs = analysis._lstm_arrays(T, H, H, 4, 2.0)
    assert np.all(b[nn.LSTM.gate_columns("f", H)] == 2.0) and np.count_nonzero(b) == H
    np.testing.assert_array_equal(p["b"].data, b)
    h = c = np.zeros((1, H))
    for k, x in enumerate(xs):
        h, c = _numpy_lstm_step(x, h, c, W_x, W_h, b)
        np.testing.assert_allclose(hs[k].data, h, atol=1e-12)
        np.testing.assert_allclose(p["cs"][k].data, c, atol=1e-12)
    assert [c.name for c in p["cs"]] == [f"c_{t}" for t in range(1, T + 1)]
    loss.backward()
    assert np.all(np.isfinite(analysis.gradient_norms(hs))) and p["cs"][0].grad is not None


def _numeric_jacobian(f, s, eps=1e-6):
    cols = []
    for k in range(s.size):
        d = np.zeros_like(s)
        d.flat[k] = eps
        cols.append(((f(s + d) - f(s - d)) / (2 * eps)).reshape(-1))
    return np.stack(cols, axis=1)


def test_lstm_step_jacobians_match_finite_differences():
    T, H = 3, 2
    W_x, W_h, b, xs = analysis._lstm_arrays(T, H, H, 1, 1.0)
    Js = analysis.lstm_step_jacobians({"W_x": W_x, "W_h": W_h, "b": b}, xs[:, 0], H)
    s = np.zeros((1, 2 * H))
    for J, x in zip(Js, xs):

        def f(s, x=x):
            return np.concatenate(_numpy_lstm_step(x, s[:, :H], s[:, H:], W_x, W_h, b), axis=1)

        assert J.shape == (2 * H, 2 * H)
        np.testing.assert_allclose(J, _numeric_jacobian(f, s), atol=1e-8)
        s = f(s)
    with pytest.raises(ValueError, match=r"lstm_step_jacobians: H=3 but W_h has shape \(2, 8\)"):
        analysis.lstm_step_jacobians({"W_x": W_x, "W_h": W_h, "b": b}, xs[:, 0], 3)


def test_spectra_bound_the_lstm_gradient_norms():
    loss, hs, _ = analysis.unroll_lstm(T=6, H=3, forget_bias=3.0)
    loss.backward()
    norms = analysis.gradient_norms(hs)
    per_step, product = analysis.lstm_spectra(T=6, H=3, forget_bias=3.0)
    assert per_step.shape == product.shape == (6,)
    # dL/dh_1 is the h-part of (dL/dh_6, 0) pushed back through J_6 ... J_2; sigma bounds its norm
    assert norms[0] <= product[1] * norms[-1] * (1 + 1e-9)


def test_the_study_draws_nothing_from_the_package_generator():
    ta.seed(3)
    expected = ta.randn(4).data
    ta.seed(3)
    analysis.unroll_tanh_rnn(T=2, H=2)
    analysis.unroll_lstm(T=2, H=2)
    np.testing.assert_array_equal(ta.randn(4).data, expected)


def test_float32_study_and_clip():
    loss, hs, p = analysis.unroll_tanh_rnn(T=5, H=3, radius=2.0, dtype=np.float32, clip=0.25)
    assert hs[-1].dtype == np.float32 and p["W_h"].dtype == np.float32
    loss.backward()
    norms = analysis.gradient_norms(hs)
    assert norms[-1] == pytest.approx(0.25, rel=1e-6)  # sum(h_T) sends sqrt(3) > 0.25: clipped to 0.25
    assert np.all(norms <= 0.25 * (1 + 1e-6))
