"""Attention and its ten score functions: finite differences, masks (exact zeros), shapes, errors."""

import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import Tensor, nn

N, TQ, TK, DQ, DK, DV = 2, 2, 3, 3, 3, 2
DIMS = dict(query_dim=DQ, key_dim=DK, hidden_dim=2, max_len=4)
ALL = list(nn.SCORES)


def test_the_ten_scores_of_galassi_table_3_are_registered():
    assert ALL == [
        "similarity",
        "dot",
        "scaled_dot",
        "general",
        "biased_general",
        "activated_general",
        "concat",
        "additive",
        "deep",
        "location",
    ]


def _qkv(rng, tq=TQ):
    return rng.standard_normal((N, tq, DQ)), rng.standard_normal((N, TK, DK)), rng.standard_normal((N, TK, DV))


def _randomise(module, rng):
    for p in module.parameters():  # zero biases would hide bias bugs
        p.data[...] = rng.standard_normal(p.shape)


@pytest.mark.parametrize("score", ALL)
def test_gradcheck_each_score(score, gradcheck_module, rng):
    att = nn.Attention(score, **DIMS)
    _randomise(att, rng)
    gradcheck_module(att, lambda q, k, v: att(q, k, v), *_qkv(rng))


@pytest.mark.parametrize("score", ALL)
def test_gradcheck_each_score_with_a_mask(score, gradcheck_module, rng):
    att = nn.Attention(score, **DIMS)
    _randomise(att, rng)
    mask = np.array([[[True, True, False]], [[True, False, False]]])  # (N, 1, TK): key padding
    gradcheck_module(att, lambda q, k, v: att(q, k, v, mask=mask), *_qkv(rng))


@pytest.mark.parametrize("score", ALL)
def test_shapes_and_weights_sum_to_one(score, rng):
    att = nn.Attention(score, **DIMS)
    q, k, v = (Tensor(a.astype(np.float32)) for a in _qkv(rng))
    context, weights = att(q, k, v)
    assert context.shape == (N, TQ, DV) and weights.shape == (N, TQ, TK)
    assert context.dtype == np.float32
    np.testing.assert_allclose(weights.data.sum(-1), 1, rtol=1e-6)
    np.testing.assert_allclose(context.data, weights.data @ v.data, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("score", ALL)
def test_masked_keys_get_exactly_zero_weight_and_gradient(score, rng):
    att = nn.Attention(score, **DIMS)
    q, k, v = (Tensor(a, requires_grad=True) for a in _qkv(rng))
    mask = np.array([[True, False, True], [False, False, True]])[:, None, :]
    _, weights = att(q, k, v, mask=mask)
    assert (weights.data[~np.broadcast_to(mask, weights.shape)] == 0).all()
    (weights * rng.standard_normal(weights.shape)).sum().backward()
    assert (v.grad is None) or (v.grad.data[~mask[:, 0]] == 0).all()
    if k.grad is not None and score != "location":
        assert (k.grad.data[~mask[:, 0]] == 0).all()


def test_a_fully_masked_row_gives_zero_weights_not_nan(rng):
    att = nn.Attention("dot")
    q, k, v = (Tensor(a, requires_grad=True) for a in _qkv(rng))
    mask = np.array([[[True, True, False], [False, False, False]]])  # second query sees nothing
    context, weights = att(q, k, v, mask=mask)
    np.testing.assert_array_equal(weights.data[:, 1], 0)
    np.testing.assert_array_equal(context.data[:, 1], 0)
    context.sum().backward()
    assert np.isfinite(q.grad.data).all()


def test_causal_and_padding_masks():
    np.testing.assert_array_equal(nn.causal_mask(3), np.tril(np.ones((3, 3), bool)))
    pm = nn.padding_mask(np.array([[5, 6, 0], [7, 0, 0]]), pad_id=0)
    assert pm.shape == (2, 1, 3) and pm.tolist() == [[[True, True, False]], [[True, False, False]]]
    att = nn.Attention("scaled_dot")
    q = ta.randn(2, 3, 4)
    _, w = att(q, q, q, mask=nn.causal_mask(3) & pm)
    assert (w.data[0] == np.array([[1, 0, 0], [w.data[0, 1, 0], w.data[0, 1, 1], 0], [*w.data[0, 2, :2], 0]])).all()
    np.testing.assert_array_equal(w.data[1, :, 1:], 0)


def test_dot_and_scaled_dot_match_their_formulas(rng):
    q, k, v = _qkv(rng)
    for score, scale in (("dot", 1.0), ("scaled_dot", 1 / np.sqrt(DK))):
        _, w = nn.Attention(score)(Tensor(q), Tensor(k), Tensor(v))
        e = q @ k.transpose(0, 2, 1) * scale
        e = np.exp(e - e.max(-1, keepdims=True))
        np.testing.assert_allclose(w.data, e / e.sum(-1, keepdims=True), rtol=1e-10)


def _cosine(q, k):
    return np.einsum("nqd,nkd->nqk", q, k) / np.linalg.norm(q, axis=-1)[..., None] / np.linalg.norm(k, axis=-1)[:, None]


def test_similarity_without_key_strength_is_cosine(rng):
    q, k, _ = _qkv(rng)
    score = nn.SCORES["similarity"](key_strength=False)
    np.testing.assert_allclose(score(Tensor(q), Tensor(k)).data, _cosine(q, k), rtol=1e-6)
    assert score.parameters() == []


def test_similarity_is_cosine_times_the_ntm_key_strength(rng):
    q, k, _ = _qkv(rng)
    score = nn.SCORES["similarity"](query_dim=DQ)
    fresh = score(Tensor(q), Tensor(k)).data  # beta starts near 1: plain cosine
    np.testing.assert_allclose(fresh, _cosine(q, k), rtol=0.05, atol=0.02)
    score.w_beta.data[...] = rng.standard_normal(DQ)
    score.b_beta.data[...] = 0.5
    beta = np.log1p(np.exp(q @ score.w_beta.data + 0.5))[..., None]  # softplus, (N, Tq, 1)
    np.testing.assert_allclose(score(Tensor(q), Tensor(k)).data, beta * _cosine(q, k), rtol=1e-6)
    assert (beta > 0).all()


def test_key_strength_lets_a_cosine_peak_beyond_its_bound(rng):
    q, k, v = _qkv(rng)
    k[:, 0] = q[:, 0]  # key 0 matches query 0 exactly (cosine 1), the others are opposite (cosine -1)
    k[:, 1:] = -q[:, :1]
    bare = nn.Attention("similarity", key_strength=False)
    bound = np.e**2 / (np.e**2 + TK - 1)
    np.testing.assert_allclose(bare(Tensor(q), Tensor(k), Tensor(v))[1].data[:, 0, 0], bound, rtol=1e-6)
    strong = nn.Attention("similarity", query_dim=DQ)
    strong.score.b_beta.data[...] = 20.0  # beta = 20
    assert strong(Tensor(q), Tensor(k), Tensor(v))[1].data[:, 0, 0].min() > 0.99


def test_temperature_divides_the_energies_and_is_off_by_default(rng):
    q, k, v = _qkv(rng)
    att = nn.Attention("activated_general", query_dim=DQ, key_dim=DK)
    assert att.temperature is None
    _randomise(att, rng)
    e = att.score(Tensor(q), Tensor(k)).data
    assert np.abs(e).max() <= 1  # tanh: bounded
    hot = nn.Attention("activated_general", query_dim=DQ, key_dim=DK, temperature=0.1)
    hot.load_state_dict(att.state_dict())
    e10 = np.exp(e / 0.1 - (e / 0.1).max(-1, keepdims=True))
    np.testing.assert_allclose(
        hot(Tensor(q), Tensor(k), Tensor(v))[1].data, e10 / e10.sum(-1, keepdims=True), rtol=1e-9
    )
    assert "temperature=0.1" in repr(hot)


def test_temperature_gradcheck(gradcheck_module, rng):
    att = nn.Attention("activated_general", query_dim=DQ, key_dim=DK, temperature=0.25)
    _randomise(att, rng)
    gradcheck_module(att, lambda q, k, v: att(q, k, v), *_qkv(rng))


def test_score_options_are_checked():
    with pytest.raises(ValueError, match="temperature must be > 0"):
        nn.Attention("dot", temperature=0)
    with pytest.raises(ValueError, match="'dot'.*unknown option key_strength"):
        nn.Attention("dot", key_strength=False)
    with pytest.raises(ValueError, match="similarity.*needs query_dim"):
        nn.Attention("similarity")


def test_location_scores_ignore_the_keys(rng):
    att = nn.Attention("location", query_dim=DQ, max_len=4)
    q, k, v = _qkv(rng)
    a = att(Tensor(q), Tensor(k), Tensor(v))[1].data
    b = att(Tensor(q), Tensor(k * 10 + 1), Tensor(v))[1].data
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="5 keys but max_len=4"):
        att(Tensor(q), ta.randn(N, 5, DK), ta.randn(N, 5, DV))


def test_a_two_dimensional_query_is_one_step(rng):
    att = nn.Attention("general", query_dim=DQ, key_dim=DK)
    q, k, v = _qkv(rng, tq=1)
    c1, w1 = att(Tensor(q[:, 0]), Tensor(k), Tensor(v), mask=np.array([[1, 1, 0], [1, 0, 1]]))
    c3, w3 = att(Tensor(q), Tensor(k), Tensor(v), mask=np.array([[[1, 1, 0]], [[1, 0, 1]]]))
    assert c1.shape == (N, DV) and w1.shape == (N, TK)
    np.testing.assert_allclose(c1.data, c3.data[:, 0])
    np.testing.assert_allclose(w1.data, w3.data[:, 0])


def test_parameter_names_and_state_dict():
    att = nn.Attention("additive", query_dim=4, key_dim=3, hidden_dim=5)
    assert [(n, p.shape) for n, p in att.named_parameters()] == [
        ("score.W_k", (3, 5)),
        ("score.W_q", (4, 5)),
        ("score.b", (5,)),
        ("score.w", (5,)),
    ]
    assert att.score.W_k.name == "score.W_k"
    assert list(nn.Attention("dot").state_dict()) == []


def test_errors_are_clear():
    with pytest.raises(ValueError, match="unknown score 'bogus'; choose from similarity, dot"):
        nn.Attention("bogus")
    with pytest.raises(ValueError, match="needs query_dim"):
        nn.Attention("general")
    with pytest.raises(ValueError, match="needs max_len"):
        nn.Attention("location", query_dim=3)
    with pytest.raises(ValueError, match="activation must be one of"):
        nn.Attention("additive", query_dim=3, activation="swish")
    att = nn.Attention("dot")
    with pytest.raises(ValueError, match="query dim 3 and key dim 4 must agree"):
        att(ta.randn(2, 1, 3), ta.randn(2, 2, 4), ta.randn(2, 2, 4))
    with pytest.raises(ValueError, match="batch sizes and key/value lengths must agree"):
        att(ta.randn(2, 1, 3), ta.randn(2, 2, 3), ta.randn(2, 5, 3))
    with pytest.raises(ValueError, match=r"mask of shape \(4,\) does not broadcast"):
        att(ta.randn(2, 1, 3), ta.randn(2, 2, 3), ta.randn(2, 2, 3), mask=np.ones(4, bool))
    with pytest.raises(ValueError, match=r"mask of shape \(1, 1, 1, 2\) does not broadcast"):
        att(ta.randn(2, 1, 3), ta.randn(2, 2, 3), ta.randn(2, 2, 3), mask=np.ones((1, 1, 1, 2), bool))


def test_an_eleventh_score_is_one_class(rng):
    @nn.register_score("negative_distance")
    class NegativeDistance(nn.Score):
        """-|q - k|^2."""

        def __init__(self, **unused):
            super().__init__()

        def forward(self, q, k):
            qq = (q * q).sum(axis=-1, keepdims=True)
            kk = (k * k).sum(axis=-1).reshape(k.shape[0], 1, k.shape[1])
            return 2 * (q @ k.transpose(0, 2, 1)) - qq - kk

    try:
        q, k, v = _qkv(rng)
        _, w = nn.Attention("negative_distance")(Tensor(q), Tensor(k), Tensor(v))
        d = -((q[:, :, None] - k[:, None]) ** 2).sum(-1)
        e = np.exp(d - d.max(-1, keepdims=True))
        np.testing.assert_allclose(w.data, e / e.sum(-1, keepdims=True), rtol=1e-8)
    finally:
        del nn.SCORES["negative_distance"]
