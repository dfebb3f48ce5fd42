"""MultiHeadAttention, positional encoding, Transformer encoder/decoder layers."""

import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import Tensor, nn

N, T, S, E, HEADS = 2, 3, 2, 4, 2


def _randomise_biases(module, rng):
    for name, p in module.named_parameters():
        if name.endswith(("b", "bias", "weight")):
            p.data[...] = rng.standard_normal(p.shape)


@pytest.mark.parametrize("masked", [False, True])
def test_multi_head_attention_gradcheck(masked, gradcheck_module, rng):
    mha = nn.MultiHeadAttention(E, HEADS)
    _randomise_biases(mha, rng)
    mask = np.array([[[True, False]], [[True, True]]]) if masked else None
    q, kv = rng.standard_normal((N, T, E)), rng.standard_normal((N, S, E))
    gradcheck_module(mha, lambda q, kv: mha(q, kv, kv, mask), q, kv)


def test_one_head_equals_scaled_dot_attention_on_the_projections(rng):
    mha = nn.MultiHeadAttention(E, 1)
    q, kv = Tensor(rng.standard_normal((N, T, E))), Tensor(rng.standard_normal((N, S, E)))
    out, w = mha(q, kv)
    ctx, w_ref = nn.Attention("scaled_dot")(mha.q_proj(q), mha.k_proj(kv), mha.v_proj(kv))
    np.testing.assert_allclose(w.data[:, 0], w_ref.data, rtol=1e-10)
    np.testing.assert_allclose(out.data, mha.out_proj(ctx).data, rtol=1e-10)


def test_heads_are_independent_slices_of_the_projections(rng):
    mha = nn.MultiHeadAttention(E, HEADS)
    x = Tensor(rng.standard_normal((N, T, E)))
    _, w = mha(x)
    d = E // HEADS
    for h in range(HEADS):
        sl = slice(h * d, (h + 1) * d)
        q, k = mha.q_proj(x).data[..., sl], mha.k_proj(x).data[..., sl]
        e = q @ k.transpose(0, 2, 1) / np.sqrt(d)
        e = np.exp(e - e.max(-1, keepdims=True))
        np.testing.assert_allclose(w.data[:, h], e / e.sum(-1, keepdims=True), rtol=1e-10)


def test_multi_head_attention_masks_and_errors(rng):
    mha = nn.MultiHeadAttention(E, HEADS)
    x = ta.randn(N, T, E)
    _, w = mha(x, mask=nn.causal_mask(T))
    assert w.shape == (N, HEADS, T, T)
    assert (w.data[..., ~nn.causal_mask(T)] == 0).all()
    with pytest.raises(ValueError, match="not divisible"):
        nn.MultiHeadAttention(5, 2)
    with pytest.raises(ValueError, match="MultiHeadAttention: query"):
        mha(ta.randn(N, T, E), ta.randn(N + 1, T, E))
    with pytest.raises(ValueError, match="mask of shape"):
        mha(x, mask=np.ones((1, 1, 1, T, T), bool))


def test_sinusoidal_encoding_values():
    pe = nn.sinusoidal_encoding(50, 6)
    assert pe.shape == (50, 6) and pe.dtype == np.float32
    np.testing.assert_allclose(pe[0], [0, 1, 0, 1, 0, 1])
    t, i = 7, 1
    np.testing.assert_allclose(pe[t, 2 * i], np.sin(t / 10000 ** (2 * i / 6)), rtol=1e-6)
    np.testing.assert_allclose(pe[t, 2 * i + 1], np.cos(t / 10000 ** (2 * i / 6)), rtol=1e-6)
    assert nn.sinusoidal_encoding(4, 5).shape == (4, 5)  # odd width


def test_positional_encoding_adds_the_table_and_keeps_the_dtype():
    pos = nn.PositionalEncoding(E, max_len=10)
    assert pos.parameters() == [] and pos.state_dict() == {}
    for dtype in (np.float32, np.float64):
        x = Tensor(np.zeros((N, T, E), dtype))
        y = pos(x)
        assert y.dtype == dtype
        np.testing.assert_allclose(y.data[1], nn.sinusoidal_encoding(T, E), rtol=1e-6)
    with pytest.raises(ValueError, match="T <= 10"):
        pos(ta.zeros(1, 11, E))


@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
def test_encoder_layer_gradcheck(norm_first, gradcheck_module, rng):
    layer = nn.TransformerEncoderLayer(E, HEADS, d_ff=3, dropout=0.0, norm_first=norm_first)
    _randomise_biases(layer, rng)
    mask = nn.padding_mask(np.array([[1, 1, 0], [1, 1, 1]]), pad_id=0)
    gradcheck_module(layer, lambda x: layer(x, mask), rng.standard_normal((N, T, E)))


@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
def test_decoder_layer_gradcheck(norm_first, gradcheck_module, rng):
    layer = nn.TransformerDecoderLayer(E, HEADS, d_ff=3, dropout=0.0, norm_first=norm_first)
    _randomise_biases(layer, rng)
    memory_mask = np.array([[[True, False]], [[True, True]]])
    x, memory = rng.standard_normal((N, T, E)), rng.standard_normal((N, S, E))
    gradcheck_module(layer, lambda x, m: layer(x, m, memory_mask=memory_mask), x, memory)


def test_decoder_is_causal(rng):
    layer = nn.TransformerDecoderLayer(E, HEADS, dropout=0.0)
    x, memory = rng.standard_normal((N, 4, E)), Tensor(rng.standard_normal((N, S, E)))
    y1 = layer(Tensor(x), memory).data
    x[:, 2:] += 5.0  # change the future
    y2 = layer(Tensor(x), memory).data
    np.testing.assert_allclose(y1[:, :2], y2[:, :2], rtol=1e-10)
    assert not np.allclose(y1[:, 2:], y2[:, 2:])
    assert (layer.self_attn_weights[..., ~nn.causal_mask(4)] == 0).all()
    assert layer.cross_attn_weights.shape == (N, HEADS, 4, S)


def test_encoder_padding_mask_hides_padded_positions(rng):
    layer = nn.TransformerEncoderLayer(E, HEADS, dropout=0.0)
    mask = nn.padding_mask(np.array([[1, 1, 0], [1, 1, 1]]), pad_id=0)
    x = rng.standard_normal((N, T, E))
    y1 = layer(Tensor(x), mask).data
    x[0, 2] = 100.0  # a padded position's content must not matter elsewhere
    y2 = layer(Tensor(x), mask).data
    np.testing.assert_allclose(y1[0, :2], y2[0, :2], rtol=1e-10)
    assert layer.attn_weights.shape == (N, HEADS, T, T)


def test_dropout_follows_train_and_eval():
    layer = nn.TransformerEncoderLayer(E, HEADS, dropout=0.5)
    x = ta.randn(N, T, E)
    assert not np.allclose(layer(x).data, layer(x).data)
    layer.eval()
    np.testing.assert_array_equal(layer(x).data, layer(x).data)


def test_decoder_layer_parameter_names():
    names = [n for n, _ in nn.TransformerDecoderLayer(E, HEADS, d_ff=8).named_parameters()]
    assert names[:2] == ["self_attn.q_proj.W", "self_attn.q_proj.b"]
    assert "cross_attn.out_proj.W" in names and "ff.fc2.b" in names and names[-1] == "norm3.bias"
