"""RNN, LSTM, GRU: finite differences in float64, shapes, state handling, scopes and names, both forms."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


@pytest.mark.parametrize("per_step", [False, True], ids=["fast", "per_step"])
@pytest.mark.parametrize("cls", LAYERS, ids=lambda c: c.__name__)
def test_steps_are_numbered_from_one_in_scopes_and_names(cls, per_step):
    layer = cls(D, H, per_step=per_step)
    hs, last = layer(ta.randn(N, 4, D, requires_grad=True))
    steps = hs.op.inputs  # the stacked hidden states
    assert [h.name for h in steps] == ["h_1", "h_2", "h_3", "h_4"]
    assert [h.op.scope for h in steps] == ["t=1", "t=2", "t=3", "t=4"]
    if cls is nn.LSTM:
        assert [last[0].name, last[1].name, last[1].op.scope] == ["h_4", "c_4", "t=4"]


def _ops_in_scope(root, scope):
    """(op name, input names) of every node made inside `scope`, found by walking back from root."""
    seen, stack, found = set(), [root], []
    while stack:
        t = stack.pop()
        if id(t) in seen or t.op is None:
            continue
        seen.add(id(t))
        if t.op.scope == scope:
            found.append((t.op.name, [i.name for i in t.op.inputs]))
        stack.extend(t.op.inputs)
    return found


def test_per_step_rnn_is_the_lectures_graph():
    rnn = nn.RNN(D, H, per_step=True)
    x = ta.randn(N, 3, D, requires_grad=True)
    _, h = rnn(x)
    for t in (1, 2, 3):
        ops = _ops_in_scope(h, f"t={t}")
        matmuls = sorted(ins for op, ins in ops if op == "MatMul")
        assert matmuls == [[f"h_{t - 1}", "W_h"], [f"x_{t}", "W_x"]]
        assert sorted(op for op, _ in ops) == ["Add", "Add", "GetItem", "MatMul", "MatMul", "Tanh"]  # GetItem: x_t
    _, h1 = rnn(x[:, :1])
    h0 = h1.op.inputs[0].op.inputs[0].op.inputs[0].op.inputs[0]  # tanh <- add b <- add <- matmul(h_0, W_h)
    assert h0.name == "h_0" and not h0.requires_grad and np.all(h0.data == 0)


def test_fast_rnn_projects_inputs_once_before_the_steps():
    rnn = nn.RNN(D, H)
    _, h = rnn(ta.randn(N, 3, D, requires_grad=True))
    ops = _ops_in_scope(h, "t=2")
    assert sorted(op for op, _ in ops) == ["Add", "GetItem", "MatMul", "Tanh"]
    assert [ins for op, ins in ops if op == "MatMul"] == [["h_1", "W_h"]]


def _run(layer, x, state, weights):
    """Forward and backward of a weighted sum of every output; the numbers to compare between forms."""
    hs, last = layer(x, state)
    outs = (hs,) + (last if isinstance(last, tuple) else (last,))
    sum(((o * w).sum() for o, w in zip(outs, weights)), Tensor(0.0, dtype=np.float64)).backward()
    leaves = [x, *(state if isinstance(state, tuple) else (state,) if state is not None else ()), *layer.parameters()]
    # The fast form skips h_0 W_h when there is no initial state: W_h may get no gradient at all (T = 1).
    return [o.data for o in outs] + [np.zeros_like(p.data) if p.grad is None else p.grad.data for p in leaves]


@settings(max_examples=25)
@given(
    cls=st.sampled_from(LAYERS),
    shape=st.tuples(*[st.integers(1, 3)] * 4),
    with_state=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_per_step_form_gives_the_fast_forms_numbers(cls, shape, with_state, seed):
    n, t, d, h = shape
    rng = np.random.default_rng(seed)
    G = cls.gates
    arrays = [rng.standard_normal(s) for s in ((d, G * h), (h, G * h), (G * h,))]
    x = rng.standard_normal((n, t, d))
    states = [rng.standard_normal((n, h)) for _ in range(2 if cls is nn.LSTM else 1)]
    weights = [rng.standard_normal((n, t, h))] + [rng.standard_normal((n, h)) for _ in states]
    runs = []
    for per_step in (False, True):
        layer = cls.from_weights(*arrays, per_step=per_step)
        state = tuple(Tensor(s, requires_grad=True) for s in states) if with_state else None
        if state is not None and cls is not nn.LSTM:
            state = state[0]
        runs.append(_run(layer, Tensor(x, requires_grad=True), state, weights))
    assert len(runs[0]) == len(runs[1])
    for fast, per in zip(*runs):
        assert fast.dtype == per.dtype == np.float64
        np.testing.assert_allclose(per, fast, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cls", LAYERS, ids=lambda c: c.__name__)
def test_from_weights_copies_the_arrays_and_draws_nothing(cls, rng):
    G = cls.gates
    W_x, W_h, b = rng.standard_normal((D, G * H)), rng.standard_normal((H, G * H)), rng.standard_normal(G * H)
    before = ta.randn(3).data
    ta.seed(0)
    layer = cls.from_weights(W_x, W_h, b, per_step=True)
    after = ta.randn(3).data
    np.testing.assert_array_equal(before, after)  # the package generator was not advanced
    assert [n for n, _ in layer.named_parameters()] == ["W_x", "W_h", "b"]
    assert (layer.input_size, layer.hidden_size, layer.per_step) == (D, H, True)
    np.testing.assert_array_equal(layer.W_h.data, W_h)
    W_h[0, 0] += 1.0
    assert layer.W_h.data[0, 0] != W_h[0, 0] and layer.W_h.dtype == np.float64
    with pytest.raises(ValueError, match=rf"{cls.__name__}.from_weights: W_h of shape \(2, 3\) must be \(H, {G}\*H\)"):
        cls.from_weights(W_x, np.ones((2, 3)), b)
    with pytest.raises(ValueError, match=rf"{cls.__name__}.from_weights: W_x of shape \(3, 1\) and b"):
        cls.from_weights(np.ones((3, 1)), W_h, b)
    with pytest.raises(ValueError, match=rf"b of shape \({G * H + 1},\)"):
        cls.from_weights(W_x, W_h, np.ones(G * H + 1))


def test_lstm_gate_columns_follow_the_documented_order():
    assert nn.LSTM.gate_order == ("f", "g", "i", "o")
    assert nn.LSTM.gate_columns("i", 5) == slice(10, 15)
    lstm = nn.LSTM(D, H)
    lstm.b.data[nn.LSTM.gate_columns("f", H)] = -50.0  # forget gate shut: c_2 = g * i, as if c_1 were 0
    lstm.b.data[nn.LSTM.gate_columns("o", H)] = 50.0  # output gate open: h_t = tanh(c_t)
    x = ta.randn(1, 2, D)
    hs, (h, c) = lstm(x)
    _, (h1, c1) = lstm(x[:, 1:], (hs[:, 0], ta.zeros(1, H)))
    np.testing.assert_allclose(c.data, c1.data, atol=1e-6)
    np.testing.assert_allclose(h.data, np.tanh(c.data), atol=1e-6)


def test_scopes_nest_under_a_caller_scope():
    with ta.scope("encoder"):
        hs, _ = nn.RNN(D, H)(ta.randn(N, 2, D, requires_grad=True))
    assert hs.op.inputs[1].op.scope == "encoder/t=2"


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
