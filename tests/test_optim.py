"""Optimizers against their update rules written out in numpy, and gradient-norm clipping."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_attn as ta
from tinygrad_attn import Tensor, nn, optim


def _param(values):
    p = nn.Parameter(np.array(values, np.float64))
    p.grad = Tensor(np.array([0.5, -1.0, 2.0]))
    return p


def test_sgd_step():
    p = _param([1.0, 2.0, 3.0])
    optim.SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [0.95, 2.1, 2.8])


def test_momentum_two_steps():
    p = _param([0.0, 0.0, 0.0])
    opt = optim.Momentum([p], lr=0.1, momentum=0.9)
    opt.step()
    opt.step()
    g = np.array([0.5, -1.0, 2.0])
    v1 = -0.1 * g
    v2 = 0.9 * v1 - 0.1 * g
    np.testing.assert_allclose(p.data, v1 + v2)


def test_adam_matches_the_textbook_rule():
    p = _param([1.0, 1.0, 1.0])
    opt = optim.Adam([p], lr=0.01)
    x, m, v = np.ones(3), np.zeros(3), np.zeros(3)
    g = p.grad.data.copy()
    for t in range(1, 4):
        opt.step()
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        x = x - 0.01 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-7 / np.sqrt(1 - 0.999**t))
    np.testing.assert_allclose(p.data, x, rtol=1e-10)


def test_optimizers_skip_parameters_without_grad_and_zero_grad():
    a, b = _param([1.0, 1.0, 1.0]), nn.Parameter(np.ones(2))
    opt = optim.Adam([a, b])
    opt.step()
    np.testing.assert_array_equal(b.data, 1.0)
    opt.zero_grad()
    assert a.grad is None


def test_optimizer_argument_errors():
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([])
    with pytest.raises(TypeError):
        optim.SGD([Tensor(np.ones(2))])
    with pytest.raises(ValueError, match="lr"):
        optim.SGD([nn.Parameter(np.ones(2))], lr=0)


def test_clip_grad_norm_returns_the_norm_before_clipping():
    a, b = nn.Parameter(np.zeros(2)), nn.Parameter(np.zeros(1))
    a.grad, b.grad = Tensor(np.array([3.0, 0.0])), Tensor(np.array([4.0]))
    assert optim.clip_grad_norm_([a, b], 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(np.concatenate([a.grad.data, b.grad.data]), [0.6, 0.0, 0.8], rtol=1e-5)
    assert optim.clip_grad_norm_([a, b], 10.0) == pytest.approx(1.0, rel=1e-5)  # under the limit: unchanged
    np.testing.assert_allclose(a.grad.data, [0.6, 0.0], rtol=1e-5)


def test_training_a_linear_model_reduces_the_loss():
    ta.seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.3
    model = nn.Linear(3, 1)
    opt = optim.Adam(model.parameters(), lr=0.05)
    first = None
    for _ in range(200):
        loss = ta.functional.mse_loss(model(Tensor(x)), Tensor(y))
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 1e-3 < first


@given(total=st.integers(1, 50), base=st.floats(1e-4, 1.0), frac=st.floats(0.0, 1.0), data=st.data())
def test_cosine_decay_holds_then_follows_the_half_cosine(total, base, frac, data):
    start = data.draw(st.integers(0, total - 1), label="start")
    opt = optim.SGD([_param([1.0, 1.0, 1.0])], lr=base)
    min_lr = frac * base
    sched = optim.CosineDecay(opt, total, min_lr=min_lr, start=start)
    lrs = [sched.step() for _ in range(total + 3)]
    assert lrs[:start] == [base] * start
    n = total - start
    for k in range(start + 1, total + 1):
        assert lrs[k - 1] == pytest.approx(min_lr + (base - min_lr) * (1 + np.cos(np.pi * (k - start) / n)) / 2)
    assert all(a >= b - 1e-15 for a, b in zip(lrs, lrs[1:]))  # never rises
    assert lrs[total - 1 :] == [pytest.approx(min_lr)] * 4 and opt.lr == lrs[-1]


def test_cosine_decay_argument_errors():
    opt = optim.Adam([_param([1.0, 1.0, 1.0])], lr=0.01)
    with pytest.raises(ValueError, match="CosineDecay: total_steps"):
        optim.CosineDecay(opt, 0)
    with pytest.raises(ValueError, match="CosineDecay: total_steps"):
        optim.CosineDecay(opt, 2.5)
    with pytest.raises(ValueError, match=r"CosineDecay: start must be an integer in \[0, total_steps=10\)"):
        optim.CosineDecay(opt, 10, start=10)
    with pytest.raises(ValueError, match=r"CosineDecay: min_lr must be in \[0, lr=0.01\]"):
        optim.CosineDecay(opt, 10, min_lr=0.1)
    with pytest.raises(TypeError, match="CosineDecay: expected an Optimizer"):
        optim.CosineDecay(object(), 10)
