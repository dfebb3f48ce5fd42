"""Proven the same: one model written once, run on our engine and on PyTorch from the same float64 weights.

Each model is a function of the leaves that runs on either kind of tensor (`@ + * ** tanh sigmoid
softmax`, slices) and returns its named tensors. Our record (`ta.record_backward()`) and PyTorch's
(`from_torch.record`, the forward inside `from_torch.trace`) must give every named tensor the same
gradient norm (1e-10), in the same step order, and the same fill colour on one colour scale.
"""

import numpy as np
import pytest

import tinygrad_attn as ta
import viz
from viz.grads import norm

torch = pytest.importorskip("torch")
from_torch = pytest.importorskip("tinygrad_attn.from_torch")


def leaves(shapes, seed):
    rng = np.random.default_rng(seed)
    return {k: rng.normal(0.0, 0.6, size=s) for k, s in shapes.items()}


def tanh_rnn(p, T=6):
    """h_t = tanh(x_t W_x + h_(t-1) W_h + b) over T steps; loss = sum(h_T * y)."""
    h, named = p["h0"], {}
    for t in range(T):
        with ta.scope(f"t={t + 1}"):
            h = (p["x"][t] @ p["W_x"] + h @ p["W_h"] + p["b"]).tanh()
        named[f"h_{t + 1}"] = h
    return (h * p["y"]).sum(), named


def lstm_loop(p, T=4, split="slices"):
    """An LSTM cell loop (gate order i, f, g, o); the gates are sliced, or (PyTorch) chunked."""
    H = p["h0"].shape[1]
    h, c, named = p["h0"], p["c0"], {}
    for t in range(T):
        with ta.scope(f"t={t + 1}"):
            z = p["x"][t] @ p["W_x"] + h @ p["W_h"] + p["b"]
            if split == "chunk":
                zi, zf, zg, zo = z.chunk(4, 1)  # one SplitBackward0 node with four outputs
            else:
                zi, zf, zg, zo = (z[:, k * H : (k + 1) * H] for k in range(4))
            c = zf.sigmoid() * c + zi.sigmoid() * zg.tanh()
            h = zo.sigmoid() * c.tanh()
        named[f"h_{t + 1}"], named[f"c_{t + 1}"] = h, c
    return (h * p["y"]).sum(), named


def attention(p, swap):
    """One self-attention layer with a residual: softmax(q k^T / sqrt(d)) v W_o + x, then tanh."""
    x = p["x"]
    q, k, v = x @ p["W_q"], x @ p["W_k"], x @ p["W_v"]
    scores = q @ swap(k) * (1.0 / np.sqrt(q.shape[-1]))
    weights = scores.softmax(-1)
    out = (weights @ v @ p["W_o"] + x).tanh()
    return (out * p["y"]).sum(), {"q": q, "k": k, "v": v, "scores": scores, "weights": weights, "out": out}


CONSTANTS = {"y"}  # leaves that need no gradient


def run_ours(model, arrays, **kw):
    p = {k: ta.Tensor(a.copy(), requires_grad=k not in CONSTANTS, name=k) for k, a in arrays.items()}
    loss, named = model(p, **kw)
    for name, t in named.items():
        t.name = name
    with ta.record_backward() as rec:
        loss.backward()
    return rec, {**{k: v for k, v in p.items() if k not in CONSTANTS}, **named}


def run_torch(model, arrays, **kw):
    p = {k: torch.tensor(a.copy(), requires_grad=k not in CONSTANTS) for k, a in arrays.items()}
    with from_torch.trace():
        loss, named = model(p, **kw)
    tensors = {**{k: v for k, v in p.items() if k not in CONSTANTS}, **named}
    rec = from_torch.record(loss, names={t: k for k, t in tensors.items()})
    return rec, tensors, loss


def compare(model, arrays, ours_kw=None, torch_kw=None):
    """Both records, checked equal per named tensor; returns them for more checks."""
    rec_a, ta_tensors = run_ours(model, arrays, **(ours_kw or {}))
    rec_b, th_tensors, loss = run_torch(model, arrays, **(torch_kw or {}))
    assert set(ta_tensors) == set(th_tensors)
    for name in ta_tensors:
        a, b = rec_a.grad_of(ta_tensors[name]), rec_b.grad_of(th_tensors[name])
        assert a is not None and b is not None, name
        assert a.shape == b.shape, name
        assert norm(a) == pytest.approx(norm(b), rel=1e-10, abs=1e-300), name
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, err_msg=name)
    # the leaves' gradients are PyTorch's own, and those of .backward()
    grads = torch.autograd.grad(loss, [th_tensors[k] for k in arrays if k not in CONSTANTS], retain_graph=True)
    for k, g in zip([k for k in arrays if k not in CONSTANTS], grads):
        assert np.array_equal(rec_b.grad_of(th_tensors[k]), g.numpy()), k
    # the named intermediates reach their step in the same order in both engines
    order_a = [s.tensor.name for s in rec_a.steps if s.tensor.name in ta_tensors]
    order_b = [s.tensor.name for s in rec_b.steps if s.tensor.name in th_tensors]
    assert order_a == order_b
    # one colour scale: every named tensor has the same fill in both pictures
    g_a = viz.draw(rec_a, max_nodes=None, max_width=None)
    g_b = viz.draw(rec_b, max_nodes=None, max_width=None, scale=g_a.scale)
    for name in ta_tensors:
        na, nb = g_a.node_for(ta_tensors[name]), g_b.node_for(rec_b.tensor_for(th_tensors[name]))
        assert na is not None and nb is not None, name
        assert (na.fill, na.label[-1]) == (nb.fill, nb.label[-1]), name
    return rec_a, rec_b, g_a, g_b


def test_a_tanh_rnn_has_the_same_gradients_and_colours_in_both_engines():
    T, N, D, H = 6, 2, 3, 4
    arrays = leaves({"x": (T, N, D), "h0": (N, H), "W_x": (D, H), "W_h": (H, H), "b": (H,), "y": (N, H)}, 0)
    rec_a, rec_b, g_a, g_b = compare(tanh_rnn, arrays)
    assert [s.op for s in rec_b.steps if s.op == "Tanh"] == [s.op for s in rec_a.steps if s.op == "Tanh"]
    # the same time-step clusters in both pictures (ta.scope inside from_torch.trace)
    assert {c for c in g_a.clusters if c.startswith("t=")} == {c for c in g_b.clusters if c.startswith("t=")}
    by_name = {s.tensor.name: norm(s.grad) for s in rec_b.steps if s.tensor.name}
    norms = [by_name[f"h_{t}"] for t in range(1, T + 1)]
    assert norms[0] < norms[-1]  # the gradient shrinks going back through time, in PyTorch too


@pytest.mark.parametrize("split", ["slices", "chunk"])
def test_an_lstm_cell_loop_has_the_same_gradients_and_colours_in_both_engines(split):
    T, N, D, H = 4, 2, 3, 3
    shapes = {"x": (T, N, D), "h0": (N, H), "c0": (N, H), "W_x": (D, 4 * H), "W_h": (H, 4 * H), "b": (4 * H,)}
    arrays = leaves({**shapes, "y": (N, H)}, 1)
    rec_a, rec_b, _, _ = compare(lstm_loop, arrays, torch_kw={"split": split})
    ops = [s.op for s in rec_b.steps]
    if split == "chunk":  # four outputs of one Split node: four pickers, each run before the node
        assert ops.count("Split") == T and ops.count("Output") == 4 * T
        k = ops.index("Split")
        assert ops[k - 4 : k] == ["Output"] * 4
    else:
        assert ops.count("Slice") == 4 * T and "Output" not in ops


def test_an_attention_layer_has_the_same_gradients_and_colours_in_both_engines():
    T, D = 5, 4
    shapes = {"x": (T, D), "W_q": (D, D), "W_k": (D, D), "W_v": (D, D), "W_o": (D, D), "y": (T, D)}
    arrays = leaves(shapes, 2)
    rec_a, rec_b, _, _ = compare(
        attention, arrays, ours_kw={"swap": lambda k: k.transpose(1, 0)}, torch_kw={"swap": lambda k: k.T}
    )
    assert "Softmax" in [s.op for s in rec_b.steps] and "Softmax" in [s.op for s in rec_a.steps]
