"""Seq2seq models: shapes, greedy generation, gradients against finite differences at tiny sizes."""

import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import functional as F
from tinygrad_attn import nn

V, D, H = 6, 3, 4


def _batch(rng, N=2, S=3, T=3):
    return rng.integers(0, V, (N, S)), rng.integers(0, V, (N, T))


def _loss(model):
    return lambda s, t: F.cross_entropy(model(s, t[:, :-1]), t[:, 1:])


_MODELS = {
    "seq2seq": lambda: nn.Seq2Seq(V, D, H),
    "peeky": lambda: nn.Seq2Seq(V, D, H, peeky=True),
    "attention": lambda: nn.AttentionSeq2Seq(V, D, H, max_len=7),
    "transformer": lambda: nn.Transformer(V, d_model=8, n_heads=2, n_layers=1, max_len=10),
}


@pytest.mark.parametrize("kind", list(_MODELS))
def test_every_model_returns_one_shape_of_result(kind, rng):
    """forward -> logits Tensor, generate -> ids ndarray, weights only in `attention_weights`."""
    m = _MODELS[kind]()
    assert m.attention_weights is None
    src, tgt = _batch(rng, N=3, S=7, T=4)
    logits = m(src, tgt)
    assert isinstance(logits, ta.Tensor) and logits.shape == (3, 4, V)
    w_forward = m.attention_weights
    ids = m.generate(src, 0, 5)
    assert isinstance(ids, np.ndarray) and ids.shape == (3, 5) and ids.dtype.kind == "i"
    w_generate = m.attention_weights
    if kind in ("seq2seq", "peeky"):
        assert w_forward is None and w_generate is None
        return
    assert isinstance(w_forward, np.ndarray) and w_forward.shape == (3, 4, 7)
    assert isinstance(w_generate, np.ndarray) and w_generate.shape == (3, 5, 7)
    assert np.allclose(w_forward.sum(-1), 1, atol=1e-5) and np.allclose(w_generate.sum(-1), 1, atol=1e-5)
    assert not any("attention_weights" in n for n, _ in m.named_parameters())


@pytest.mark.parametrize("kind", ["attention", "transformer"])
def test_generate_keeps_the_weights_each_step_saw(kind, rng):
    """Weights kept by generate equal those of a teacher-forced forward over the generated prefix."""
    m = _MODELS[kind]()
    src, _ = _batch(rng, N=3, S=7)
    ids = m.generate(src, 0, 5)
    w_generate = m.attention_weights
    m(src, np.concatenate([np.zeros((3, 1), dtype=np.int64), ids[:, :-1]], axis=1))
    np.testing.assert_allclose(m.attention_weights, w_generate, atol=1e-6)
    m.generate(src, 0, 0)
    assert m.attention_weights.shape == (3, 0, 7)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("peeky", [False, True])
def test_seq2seq_shapes_and_generate(cell, peeky, rng):
    m = nn.Seq2Seq(V, D, H, cell=cell, peeky=peeky)
    src, tgt = _batch(rng, N=5, S=7, T=4)
    assert m(src, tgt).shape == (5, 4, V)
    ids = m.generate(src, start_id=0, length=6)
    assert ids.shape == (5, 6) and ids.dtype.kind == "i" and ((0 <= ids) & (ids < V)).all()
    assert m.src_embedded.shape == (5, 7, D)
    assert not any(n.startswith("src_embedded") for n, _ in m.named_parameters())


def test_generate_matches_teacher_forcing_on_its_own_output(rng):
    """Greedy decoding one step at a time equals a full forward fed with the generated prefix."""
    m = nn.Seq2Seq(V, D, H, peeky=True)
    src, _ = _batch(rng, N=4, S=5)
    ids = m.generate(src, 1, 5)
    tgt_in = np.concatenate([np.full((4, 1), 1), ids[:, :-1]], axis=1)
    assert (m(src, tgt_in).data.argmax(-1) == ids).all()


def test_peeky_feeds_the_context_to_every_step():
    plain, peeky = nn.Seq2Seq(V, D, H), nn.Seq2Seq(V, D, H, peeky=True)
    assert peeky.decoder.W_x.shape == (D + H, 4 * H) and peeky.out.W.shape == (2 * H, V)
    assert plain.decoder.W_x.shape == (D, 4 * H) and plain.out.W.shape == (H, V)


@pytest.mark.parametrize("cell,peeky", [("lstm", False), ("lstm", True), ("gru", False), ("rnn", True)])
def test_seq2seq_gradcheck(cell, peeky, rng, gradcheck_module):
    m = nn.Seq2Seq(V, D, H, cell=cell, peeky=peeky).to(np.float64)
    src, tgt = _batch(rng)
    gradcheck_module(m, _loss(m), src, tgt)


def test_gradient_reaches_every_source_position(rng):
    m = nn.Seq2Seq(V, D, H)
    src, tgt = _batch(rng, S=6)
    loss = _loss(m)(src, tgt)
    m.src_embedded.retain_grad()
    loss.backward()
    g = np.abs(m.src_embedded.grad.data).sum(axis=(0, 2))
    assert g.shape == (6,) and (g > 0).all()


def test_bad_arguments_fail_clearly(rng):
    with pytest.raises(ValueError, match="cell must be one of"):
        nn.Seq2Seq(V, D, H, cell="transformer")
    m = nn.Seq2Seq(V, D, H)
    with pytest.raises(ValueError, match="src"):
        m(np.zeros((2, 3, 1), dtype=np.int64), np.zeros((2, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="tgt_in"):
        m(np.zeros((2, 3), dtype=np.int64), np.zeros((2, 3)))


def test_training_learns_a_tiny_copy_task():
    """A few Adam steps on one batch drive the loss down (the pieces fit together)."""
    rng = np.random.default_rng(1)
    src = rng.integers(2, V, (8, 3))
    tgt = np.concatenate([np.ones((8, 1), dtype=np.int64), src], axis=1)
    m = nn.Seq2Seq(V, 8, 16)
    opt = ta.optim.Adam(m.parameters(), lr=0.05)
    losses = []
    for _ in range(30):
        loss = _loss(m)(src, tgt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]


@pytest.mark.parametrize("score", ["dot", "general", "additive", "location"])
def test_attention_seq2seq_shapes_weights_and_generate(score, rng):
    m = nn.AttentionSeq2Seq(V, D, H, score=score, max_len=7)
    src, tgt = _batch(rng, N=5, S=7, T=4)
    logits = m(src, tgt)
    w = m.attention_weights
    assert logits.shape == (5, 4, V) and w.shape == (5, 4, 7)
    assert np.allclose(w.sum(-1), 1, atol=1e-5)
    ids = m.generate(src, 0, 6)
    ws = m.attention_weights
    assert ids.shape == (5, 6) and ws.shape == (5, 6, 7)
    assert np.allclose(ws.sum(-1), 1, atol=1e-5)


@pytest.mark.parametrize("score", ["dot", "concat"])
def test_attention_seq2seq_gradcheck(score, rng, gradcheck_module):
    m = nn.AttentionSeq2Seq(V, D, H, score=score).to(np.float64)
    src, tgt = _batch(rng)
    gradcheck_module(m, _loss(m), src, tgt)


def test_transformer_shapes_weights_and_generate(rng):
    m = nn.Transformer(V, d_model=8, n_heads=2, n_layers=1, max_len=10)
    src, tgt = _batch(rng, N=3, S=6, T=4)
    logits = m(src, tgt)
    assert logits.shape == (3, 4, V) and m.attention_weights.shape == (3, 4, 6)
    ids = m.generate(src, 0, 5)
    assert ids.shape == (3, 5) and m.attention_weights.shape == (3, 5, 6)
    tgt_in = np.concatenate([np.zeros((3, 1), dtype=np.int64), ids[:, :-1]], axis=1)
    assert (m(src, tgt_in).data.argmax(-1) == ids).all()  # causal: the prefix alone decides each step


def test_transformer_is_causal(rng):
    """Changing a later target token leaves the logits of earlier positions unchanged."""
    m = nn.Transformer(V, d_model=8, n_heads=2, n_layers=1, max_len=10)
    src, tgt = _batch(rng, N=2, S=5, T=4)
    other = tgt.copy()
    other[:, 3] = (other[:, 3] + 1) % V
    a, b = m(src, tgt).data, m(src, other).data
    assert np.allclose(a[:, :3], b[:, :3]) and not np.allclose(a[:, 3], b[:, 3])


@pytest.mark.parametrize("norm_first", [True, False])
def test_transformer_gradcheck(norm_first, rng, gradcheck_module):
    m = nn.Transformer(V, d_model=4, n_heads=2, n_layers=1, d_ff=6, max_len=4, norm_first=norm_first).to(np.float64)
    src, tgt = _batch(rng, N=2, S=3, T=3)
    gradcheck_module(m, _loss(m), src, tgt)
