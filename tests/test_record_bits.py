"""A recorded backward gives training's gradients bit for bit, and its record sums to them.

The workloads are the shapes the benchmarks time (a scalar chain, a tanh RNN language model,
an LSTM seq2seq with dot attention, a Transformer encoder layer) and the book's two models
(the peeky seq2seq of the addition task, the attention seq2seq of the date task), in float32.
"""

import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import Tensor, nn
from tinygrad_attn import functional as F
from tinygrad_attn.commands.checkpoint import build_model, model_settings


def _params(rng, shapes, dtype=np.float32):
    return {
        k: Tensor((rng.standard_normal(s) * 0.3).astype(dtype), requires_grad=True, name=k) for k, s in shapes.items()
    }


def scalar_chain():
    w, b = Tensor(np.array(0.9), requires_grad=True), Tensor(np.array(0.1), requires_grad=True)
    x = Tensor(np.array(0.5))
    for _ in range(200):
        x = (x * w + b).tanh()
    return x * x, [w, b]


def rnn_lm(N=4, T=12, D=8, H=16, V=11):
    rng = np.random.default_rng(1)
    P = _params(rng, {"E": (V, D), "Wx": (D, H), "Wh": (H, H), "b": (H,), "Wo": (H, V), "bo": (V,)})
    xs, ts = rng.integers(0, V, (T, N)), rng.integers(0, V, T * N)
    xw = P["E"][xs] @ P["Wx"] + P["b"]
    h, hs = xw[0].tanh(), []
    hs.append(h)
    for t in range(1, T):
        h = (h @ P["Wh"] + xw[t]).tanh()
        hs.append(h)
    logits = ta.stack(hs, axis=0).reshape(T * N, H) @ P["Wo"] + P["bo"]
    return F.cross_entropy(logits, ts), list(P.values())


def lstm_attention(N=3, Ts=7, Tt=5, H=8, V=10):
    rng = np.random.default_rng(2)
    shapes = {"E": (V, H), "Wx": (H, 4 * H), "Wh": (H, 4 * H), "b": (4 * H,), "Wo": (2 * H, V), "bo": (V,)}
    P = _params(rng, shapes)

    def lstm(x, h):
        c, hs = None, []
        for t in range(x.shape[1]):
            a = x[:, t] if h is None else x[:, t] + h @ P["Wh"]
            f, i, o = a[:, :H].sigmoid(), a[:, 2 * H : 3 * H].sigmoid(), a[:, 3 * H :].sigmoid()
            g = a[:, H : 2 * H].tanh()
            c = g * i if c is None else f * c + g * i
            h = o * c.tanh()
            hs.append(h)
        return ta.stack(hs, axis=1)

    He = lstm(P["E"][rng.integers(0, V, (N, Ts))] @ P["Wx"] + P["b"], None)
    Hd = lstm(P["E"][rng.integers(0, V, (N, Tt))] @ P["Wx"] + P["b"], He[:, -1])
    a = (Hd @ He.transpose(0, 2, 1)).softmax(axis=2)
    cat = ta.concat([a @ He, Hd], axis=2).reshape(N * Tt, 2 * H)
    return F.cross_entropy(cat @ P["Wo"] + P["bo"], rng.integers(0, V, N * Tt)), list(P.values())


def transformer_layer(N=2, T=6, D=16, heads=4):
    ta.seed(3)
    layer = nn.TransformerEncoderLayer(D, heads, dropout=0.0)
    x = Tensor(np.random.default_rng(3).standard_normal((N, T, D)).astype(np.float32))
    return (layer(x) ** 2).mean(), list(layer.parameters())


def book_model(kind, task):
    ta.seed(4)
    d = getattr(ta.data, task)(n_train=16, n_test=4, seed=0)
    vocab, (x, t) = d.vocab, (d.x_train[:8], d.t_train[:8])
    settings = model_settings(kind, len(vocab), x.shape[1], t.shape[1], hidden=16)
    model = build_model(kind, settings)
    logits = model(x, t[:, :-1])
    logits = logits[0] if isinstance(logits, tuple) else logits
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), t[:, 1:].reshape(-1)), list(model.parameters())


WORKLOADS = {
    "scalar_chain": scalar_chain,
    "rnn_lm": rnn_lm,
    "lstm_attention": lstm_attention,
    "transformer_layer": transformer_layer,
    "book_addition_peeky": lambda: book_model("peeky", "addition"),
    "book_date_attention": lambda: book_model("attention", "dates"),
}


@pytest.mark.parametrize("name", WORKLOADS)
def test_recording_gives_training_gradients_bit_for_bit(name):
    loss, params = WORKLOADS[name]()
    loss.backward(retain_graph=True)
    plain = [p.grad.data.copy() for p in params]
    for p in params:
        p.grad = None
    with ta.record_backward() as rec:
        loss.backward()
    assert len(rec.steps) > 10
    for p, g in zip(params, plain):
        np.testing.assert_array_equal(p.grad.data, g, err_msg=f"{name}: {p.name}")
    for lf in rec.leaves:
        np.testing.assert_array_equal(lf.grad, lf.tensor.grad.data)
        parts = [c for _, _, c in rec.contributions_to(lf.tensor)]
        total = parts[0]
        for c in parts[1:]:
            total = total + c
        if lf.batched:  # one GEMM over the steps, as in training: equal to the sum within its rounding
            np.testing.assert_allclose(total, lf.grad, rtol=2e-5, atol=2e-6)
        else:
            np.testing.assert_array_equal(total, lf.grad, err_msg=f"{name}: {lf.tensor.name}")
    for step in rec.steps[1:]:
        parts = [c for _, _, c in rec.contributions_to(step.tensor)]
        total = parts[0]
        for c in parts[1:]:
            total = total + c
        np.testing.assert_array_equal(total, step.grad, err_msg=f"{name}: step {step.index} {step.op}")
