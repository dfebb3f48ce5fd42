"""tinygrad_attn.functional: cross_entropy (with ignore_index), mse_loss, embedding, layer_norm, dropout."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_attn as ta
from tinygrad_attn import Tensor
from tinygrad_attn import functional as F
from tinygrad_attn.testing import gradcheck, vjp_check
from tinygrad_attn.testing import strategies as tst


def _np_log_softmax(x):
    z = x - x.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


@st.composite
def _logits_and_targets(draw, ignore=None):
    lead = draw(tst.shapes(min_dims=1, max_dims=2), label="lead")
    C = draw(st.integers(1, 4), label="C")
    logits = draw(tst.arrays(lead + (C,)), label="logits")
    values = st.integers(0, C - 1) if ignore is None else st.one_of(st.integers(0, C - 1), st.just(ignore))
    targets = np.asarray(draw(st.lists(values, min_size=int(np.prod(lead)), max_size=int(np.prod(lead))))).reshape(lead)
    if ignore is not None and (targets == ignore).all():
        targets.reshape(-1)[0] = 0
    return logits, targets


@given(case=_logits_and_targets())
def test_cross_entropy_first_and_second_order(case):
    logits, targets = case
    lp = _np_log_softmax(logits).reshape(-1, logits.shape[-1])
    expected = -lp[np.arange(targets.size), targets.reshape(-1)].mean()
    np.testing.assert_allclose(F.cross_entropy(Tensor(logits), targets).item(), expected, rtol=1e-12)
    assert gradcheck(lambda z: F.cross_entropy(z, targets), logits)
    assert vjp_check(lambda z: F.cross_entropy(z, targets), logits, order=2)


@given(case=_logits_and_targets(ignore=-100))
def test_cross_entropy_ignore_index_averages_over_counted_positions(case):
    logits, targets = case
    keep = targets != -100
    lp = _np_log_softmax(logits)[keep]
    expected = -lp[np.arange(lp.shape[0]), targets[keep]].mean()
    np.testing.assert_allclose(F.cross_entropy(Tensor(logits), targets, ignore_index=-100).item(), expected)
    assert gradcheck(lambda z: F.cross_entropy(z, targets, ignore_index=-100), logits)
    assert vjp_check(lambda z: F.cross_entropy(z, targets, ignore_index=-100), logits, order=2)
    z = Tensor(logits, requires_grad=True)
    F.cross_entropy(z, targets, ignore_index=-100).backward()
    np.testing.assert_array_equal(z.grad.data[~keep], 0.0)  # ignored positions get no gradient


def test_cross_entropy_ignore_index_may_be_a_valid_class():
    logits = np.array([[2.0, 0.0], [0.0, 3.0]])
    full = F.cross_entropy(Tensor(logits[:1]), np.array([0])).item()
    assert np.isclose(F.cross_entropy(Tensor(logits), np.array([0, 1]), ignore_index=1).item(), full)


def test_cross_entropy_accepts_an_integer_tensor_of_targets():
    z = Tensor(np.zeros((2, 4)), requires_grad=True)
    loss = F.cross_entropy(z, Tensor(np.array([1, 3])))
    np.testing.assert_allclose(loss.item(), np.log(4))


@given(shapes=tst.broadcastable_shapes(), data=st.data())
def test_mse_loss_first_and_second_order(shapes, data):
    shape = shapes[0]
    a = data.draw(tst.arrays(shape), label="pred")
    b = data.draw(tst.arrays(shape), label="target")
    np.testing.assert_allclose(F.mse_loss(Tensor(a), Tensor(b)).item(), np.mean((a - b) ** 2))
    assert gradcheck(F.mse_loss, a, b)
    assert vjp_check(F.mse_loss, a, b, order=2)


@given(weight=tst.arrays(tst.shapes(min_dims=2, max_dims=2)), data=st.data())
def test_embedding_gradient_accumulates_repeated_rows(weight, data):
    V = weight.shape[0]
    idx = np.asarray(data.draw(hnp_int_arrays(V), label="indices"))
    np.testing.assert_array_equal(F.embedding(idx, Tensor(weight)).data, weight[idx])
    assert gradcheck(lambda w: F.embedding(idx, w), weight)
    w = Tensor(weight, requires_grad=True)
    F.embedding(idx, w).sum().backward()
    counts = np.bincount(idx.reshape(-1), minlength=V)
    np.testing.assert_array_equal(w.grad.data, np.repeat(counts[:, None], weight.shape[1], axis=1))


def hnp_int_arrays(V):
    return tst.shapes(max_dims=2).flatmap(
        lambda s: st.lists(st.integers(0, V - 1), min_size=int(np.prod(s)), max_size=int(np.prod(s))).map(
            lambda v: np.asarray(v, dtype=np.int64).reshape(s)
        )
    )


@given(x=tst.arrays(tst.shapes(min_dims=1)), data=st.data())
def test_layer_norm_first_and_second_order(x, data):
    D = x.shape[-1]
    w = data.draw(tst.arrays((D,)), label="weight")
    b = data.draw(tst.arrays((D,)), label="bias")
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    np.testing.assert_allclose(
        F.layer_norm(Tensor(x), Tensor(w), Tensor(b)).data, (x - mu) / np.sqrt(var + 1e-5) * w + b, atol=1e-10
    )
    # eps 0.1 keeps the normaliser well conditioned for finite differences of near-constant rows
    assert gradcheck(lambda t, w, b: F.layer_norm(t, w, b, eps=0.1), x, w, b)
    assert vjp_check(lambda t: F.layer_norm(t, eps=0.1), x, order=2)


@given(x=tst.arrays(), p=st.floats(0.0, 0.9))
def test_dropout_in_eval_mode_is_the_identity(x, p):
    t = Tensor(x, requires_grad=True)
    y = F.dropout(t, p, training=False)
    np.testing.assert_array_equal(y.data, x)
    (y * 3).sum().backward()
    np.testing.assert_array_equal(t.grad.data, np.full(x.shape, 3.0))


@given(x=tst.arrays(tst.shapes(min_dims=1), domain="nonzero"), p=st.floats(0.1, 0.9), seed=st.integers(0, 2**16))
def test_dropout_in_training_zeroes_or_rescales(x, p, seed):
    rng = np.random.default_rng(seed)
    y = F.dropout(Tensor(x), p, training=True, rng=rng).data
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / (1 - p), rtol=1e-12)
    assert gradcheck(lambda t: F.dropout(t, p, training=True, rng=np.random.default_rng(seed)), x)


def test_dropout_drops_about_p_of_the_elements():
    ta.seed(0)
    y = F.dropout(Tensor(np.ones(20_000)), 0.3).data
    assert abs((y == 0).mean() - 0.3) < 0.02


def test_functional_wrappers_match_the_methods():
    x = Tensor(np.array([[0.5, -1.0, 2.0]]))
    for name in ["softmax", "log_softmax", "relu", "tanh", "sigmoid"]:
        np.testing.assert_array_equal(getattr(F, name)(x).data, getattr(x, name)().data)
    np.testing.assert_allclose(F.logsumexp(x, axis=1).data, np.log(np.exp(x.data).sum(1)))
