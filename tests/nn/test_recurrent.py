"""RNN, LSTM, GRU: finite differences in float64, shapes, state handling, scopes and names."""

import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import Tensor, nn

N, T, D, H = 2, 3, 3, 2
LAYERS = [nn.RNN, nn.LSTM, nn.GRU]


def _state(layer, rng):
    if isinstance(layer, nn.LSTM):
        return (rng.standard_normal((N, H)), rng.standard_normal((N, H)))
    return rng.standard_normal((N, H))


def _outputs(hs, state):
    return (hs,) + (state if isinstance(state, tuple) else (state,))


@pytest.mark.parametrize("cls", LAYERS, ids=lambda c: c.__name__)
def test_gradcheck_without_initial_state(cls, gradcheck_module, rng):
    layer = cls(D, H)
    layer.b.data[:] = rng.standard_normal(layer.b.shape)  # zero biases would hide a bias bug
    gradcheck_module(layer, lambda x: _outputs(*layer(x)), rng.standard_normal((N, T, D)))


@pytest.mark.parametrize("cls", LAYERS, ids=lambda c: c.__name__)
def test_gradcheck_with_initial_state(cls, gradcheck_module, rng):
    layer = cls(D, H)
    state = _state(layer, rng)
    if isinstance(state, tuple):
        fn = lambda x, h, c: _outputs(*layer(x, (h, c)))  # noqa: E731
        gradcheck_module(layer, fn, rng.standard_normal((N, T, D)), *state)
    else:
        gradcheck_module(layer, lambda x, h: _outputs(*layer(x, h)), rng.standard_normal((N, T, D)), state)


@pytest.mark.parametrize("cls", LAYERS, ids=lambda c: c.__name__)
def test_shapes_parameters_and_dtype(cls):
    layer = cls(D, H)
    G = {nn.RNN: 1, nn.LSTM: 4, nn.GRU: 3}[cls]
    assert [(n, p.shape) for n, p in layer.named_parameters()] == [
        ("W_x", (D, G * H)),
        ("W_h", (H, G * H)),
        ("b", (G * H,)),
    ]
    hs, state = layer(ta.randn(4, 7, D))
    assert hs.shape == (4, 7, H) and hs.dtype == np.float32
    last = state[0] if isinstance(state, tuple) else state
    np.testing.assert_array_equal(hs.data[:, -1], last.data)


@pytest.mark.parametrize("cls", LAYERS, ids=lambda c: c.__name__)
def test_each_step_is_scoped_and_its_hidden_state_named(cls):
    layer = cls(D, H)
    x = ta.randn(N, 4, D, requires_grad=True)
    hs, _ = layer(x)
    steps = hs.op.inputs  # the stacked hidden states
    assert [h.name for h in steps] == ["h_0", "h_1", "h_2", "h_3"]
    assert [h.op.scope for h in steps] == ["t=0", "t=1", "t=2", "t=3"]


def test_scopes_nest_under_a_caller_scope():
    with ta.scope("encoder"):
        hs, _ = nn.RNN(D, H)(ta.randn(N, 2, D, requires_grad=True))
    assert hs.op.inputs[1].op.scope == "encoder/t=1"


def test_rnn_equation_on_one_step():
    rnn = nn.RNN(D, H)
    x, h0 = np.ones((1, 1, D), np.float32), np.full((1, H), 0.5, np.float32)
    _, h = rnn(Tensor(x), Tensor(h0))
    expected = np.tanh(h0 @ rnn.W_h.data + x[:, 0] @ rnn.W_x.data + rnn.b.data)
    np.testing.assert_allclose(h.data, expected, rtol=1e-6)


def test_gru_equation_on_one_step(rng):
    gru = nn.GRU(D, H)
    gru.b.data[:] = rng.standard_normal(3 * H)
    x, h0 = rng.standard_normal((N, 1, D)), rng.standard_normal((N, H))
    _, h = gru(Tensor(x), Tensor(h0))
    Wx, Wh, b = (p.data.astype(np.float64) for p in gru.parameters())
    s = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    a = x[:, 0] @ Wx + b
    z = s(a[:, :H] + h0 @ Wh[:, :H])
    r = s(a[:, H : 2 * H] + h0 @ Wh[:, H : 2 * H])
    hh = np.tanh(a[:, 2 * H :] + (r * h0) @ Wh[:, 2 * H :])
    np.testing.assert_allclose(h.data, (1 - z) * h0 + z * hh, rtol=1e-5)


@pytest.mark.parametrize("cls", LAYERS, ids=lambda c: c.__name__)
def test_zero_initial_state_equals_no_initial_state(cls):
    layer = cls(D, H)
    x = ta.randn(N, T, D)
    zeros = ta.zeros(N, H)
    state = (zeros, zeros) if cls is nn.LSTM else zeros
    np.testing.assert_allclose(layer(x)[0].data, layer(x, state)[0].data, atol=1e-7)


def test_lstm_accepts_a_bare_h0():
    lstm = nn.LSTM(D, H)
    x, h0 = ta.randn(N, T, D), ta.randn(N, H)
    a, _ = lstm(x, h0)
    b, _ = lstm(x, (h0, ta.zeros(N, H)))
    np.testing.assert_allclose(a.data, b.data, atol=1e-7)


def test_truncated_bptt_with_detach_state():
    lstm = nn.LSTM(D, H)
    x1 = ta.randn(N, T, D, requires_grad=True)
    x2 = ta.randn(N, T, D)
    _, state = lstm(x1)
    state = nn.detach_state(state)
    assert all(not s.requires_grad for s in state)
    hs, _ = lstm(x2, state)
    hs.sum().backward()
    assert x1.grad is None and lstm.W_h.grad is not None
    assert nn.detach_state(None) is None


@pytest.mark.parametrize("cls", LAYERS, ids=lambda c: c.__name__)
def test_bad_inputs_name_the_layer_and_shapes(cls):
    layer = cls(D, H)
    name = cls.__name__
    with pytest.raises(ValueError, match=rf"{name}: input of shape \(2, 3\) must be \(N, T, 3\)"):
        layer(ta.randn(2, 3))
    with pytest.raises(ValueError, match=rf"{name}: input of shape \(2, 3, 5\)"):
        layer(ta.randn(2, 3, 5))
    with pytest.raises(ValueError, match=rf"{name}: h0 of shape \(3, 2\) must be \(2, 2\)"):
        layer(ta.randn(2, 3, D), ta.randn(3, H))
    with pytest.raises(TypeError, match=name):
        layer(np.ones((2, 3, D)))
