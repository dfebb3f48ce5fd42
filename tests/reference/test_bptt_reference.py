"""nn.RNN and nn.LSTM against the hand-written numpy BPTT of bptt_reference.py (float64)."""

import numpy as np
import pytest
from bptt_reference import lstm_backward, lstm_forward, rnn_backward, rnn_forward

import tinygrad_attn as ta
from tinygrad_attn import Tensor, nn

N, T, D, H = 2, 5, 3, 4


def _leaf(a):
    return Tensor(a, requires_grad=True)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return {
        "x": rng.standard_normal((N, T, D)),
        "dhs": rng.standard_normal((N, T, H)),
        "dh_last": rng.standard_normal((N, H)),
        "dc_last": rng.standard_normal((N, H)),
        "h0": rng.standard_normal((N, H)),
        "c0": rng.standard_normal((N, H)),
    }


def _params(layer):
    return [layer.W_x.data.astype(np.float64), layer.W_h.data.astype(np.float64), layer.b.data.astype(np.float64)]


def _set_params(layer, arrays):
    layer.W_x, layer.W_h, layer.b = (_leaf(a.copy()) for a in arrays)
    return layer.W_x, layer.W_h, layer.b


@pytest.mark.parametrize("with_h0", [False, True])
def test_rnn_matches_hand_written_bptt(data, with_h0):
    ta.seed(0)
    rnn = nn.RNN(D, H)
    arrays = _params(rnn)
    h0 = data["h0"] if with_h0 else None
    hs_ref, cache = rnn_forward(data["x"], *arrays, h0=h0)
    ref = rnn_backward(data["dhs"], cache, data["dh_last"])

    x = _leaf(data["x"])
    params = _set_params(rnn, arrays)
    h0_t = _leaf(h0) if with_h0 else None
    hs, h_T = rnn(x, h0_t)
    np.testing.assert_allclose(hs.data, hs_ref, atol=1e-12)
    ((hs * data["dhs"]).sum() + (h_T * data["dh_last"]).sum()).backward()
    got = [x.grad.data] + [p.grad.data for p in params]
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, atol=1e-10)
    if with_h0:
        np.testing.assert_allclose(h0_t.grad.data, ref[4], atol=1e-10)


@pytest.mark.parametrize("with_state", [False, True])
def test_lstm_matches_hand_written_bptt(data, with_state):
    ta.seed(1)
    lstm = nn.LSTM(D, H)
    arrays = _params(lstm)
    h0, c0 = (data["h0"], data["c0"]) if with_state else (None, None)
    hs_ref, (_, c_ref), cache = lstm_forward(data["x"], *arrays, h0=h0, c0=c0)
    ref = lstm_backward(data["dhs"], cache, data["dh_last"], data["dc_last"])

    x = _leaf(data["x"])
    params = _set_params(lstm, arrays)
    state = (_leaf(h0), _leaf(c0)) if with_state else None
    hs, (h_T, c_T) = lstm(x, state)
    np.testing.assert_allclose(hs.data, hs_ref, atol=1e-12)
    np.testing.assert_allclose(c_T.data, c_ref, atol=1e-12)
    loss = (hs * data["dhs"]).sum() + (h_T * data["dh_last"]).sum() + (c_T * data["dc_last"]).sum()
    loss.backward()
    got = [x.grad.data] + [p.grad.data for p in params]
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, atol=1e-10)
    if with_state:
        np.testing.assert_allclose(state[0].grad.data, ref[4], atol=1e-10)
        np.testing.assert_allclose(state[1].grad.data, ref[5], atol=1e-10)
