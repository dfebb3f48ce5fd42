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
