"""Optional oracle: forward values and gradients agree with PyTorch (skipped when torch is absent)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_attn import Tensor
from tinygrad_attn import functional as F
from tinygrad_attn.testing import strategies as tst

torch = pytest.importorskip("torch")

# name: (ours, theirs), both taking (x, w) with x (N, D), w (D, C)
CASES = {
    "tanh_matmul": (lambda x, w: (x @ w).tanh().sum(), lambda x, w: (x @ w).tanh().sum()),
    "softmax": (lambda x, w: ((x @ w).softmax(-1) ** 2).sum(), lambda x, w: ((x @ w).softmax(-1) ** 2).sum()),
    "logsumexp_max": (
        lambda x, w: (x @ w).logsumexp(axis=1).mean() + x.max(axis=0).sum(),
        lambda x, w: (x @ w).logsumexp(dim=1).mean() + x.amax(dim=0).sum(),
    ),
    "sigmoid_relu_abs": (
        lambda x, w: ((x @ w).sigmoid() * x.relu().sum() - x.abs().mean()).sum(),
        lambda x, w: ((x @ w).sigmoid() * x.relu().sum() - x.abs().mean()).sum(),
    ),
    "cross_entropy": (
        lambda x, w: F.cross_entropy(x @ w, np.arange(x.shape[0]) % w.shape[1]),
        lambda x, w: torch.nn.functional.cross_entropy(x @ w, torch.arange(x.shape[0]) % w.shape[1]),
    ),
    "layer_norm": (
        lambda x, w: (F.layer_norm(x @ w) ** 3).sum(),
        lambda x, w: (torch.nn.functional.layer_norm(x @ w, (w.shape[1],)) ** 3).sum(),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
@given(n=st.integers(1, 4), d=st.integers(1, 4), c=st.integers(2, 4), data=st.data())
def test_values_and_gradients_match_pytorch(name, n, d, c, data):
    ours, theirs = CASES[name]
    x = data.draw(tst.arrays((n, d), domain="distinct"), label="x")
    w = data.draw(tst.arrays((d, c)), label="w")
    tx, tw = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
    out = ours(tx, tw)
    out.backward()
    px = torch.tensor(x, requires_grad=True)
    pw = torch.tensor(w, requires_grad=True)
    ref = theirs(px, pw)
    ref.backward()
    np.testing.assert_allclose(out.item(), ref.item(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(tx.grad.data, px.grad.numpy(), rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(tw.grad.data, pw.grad.numpy(), rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("fused", [False, True])
@given(n=st.integers(1, 3), t=st.integers(1, 4), d=st.integers(1, 3), h=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_lstm_matches_pytorch_lstm_op_level_and_fused(fused, n, t, d, h, seed):
    import tinygrad_attn as ta

    rng = np.random.default_rng(seed)
    W_x, W_h, b = rng.normal(0, 0.7, (d, 4 * h)), rng.normal(0, 0.7, (h, 4 * h)), rng.normal(0, 0.7, 4 * h)
    x, u = rng.normal(size=(n, t, d)), rng.normal(size=(n, t, h))
    layer = ta.nn.LSTM.from_weights(W_x, W_h, b, fused=fused)
    tx = Tensor(x, requires_grad=True)
    hs, (_, c) = layer(tx)
    ((hs * u).sum() + c.sum()).backward()

    def torch_order(W):  # ours [f, g, i, o] along the last axis -> PyTorch's [i, f, g, o] as rows
        f, g, i, o = np.split(W, 4, axis=-1)
        return torch.tensor(np.concatenate([i, f, g, o], axis=-1).T.copy())

    ref = torch.nn.LSTM(d, h, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        ref.weight_ih_l0.copy_(torch_order(W_x))
        ref.weight_hh_l0.copy_(torch_order(W_h))
        ref.bias_ih_l0.copy_(torch_order(b[None])[:, 0])
        ref.bias_hh_l0.zero_()
    px = torch.tensor(x, requires_grad=True)
    phs, (_, pc) = ref(px)
    ((phs * torch.tensor(u)).sum() + pc.sum()).backward()
    np.testing.assert_allclose(hs.data, phs.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tx.grad.data, px.grad.numpy(), rtol=1e-9, atol=1e-12)
    i, f, g, o = np.split(ref.weight_ih_l0.grad.numpy().T, 4, axis=-1)  # back to our layout
    np.testing.assert_allclose(layer.W_x.grad.data, np.concatenate([f, g, i, o], axis=-1), rtol=1e-9, atol=1e-12)
