"""Linear, Embedding, LayerNorm, Dropout: shapes, errors, and gradients against finite differences."""

import numpy as np
import pytest

from tinygrad_attn import Tensor, nn


def test_linear_shapes_and_gradcheck(gradcheck_module, rng):
    lin = nn.Linear(3, 2)
    assert lin(Tensor(np.ones((4, 5, 3), np.float32))).shape == (4, 5, 2)
    gradcheck_module(lin, lin, rng.standard_normal((2, 3)))


def test_linear_without_bias():
    lin = nn.Linear(3, 2, bias=False)
    assert [n for n, _ in lin.named_parameters()] == ["W"]
    x = np.ones((1, 3), np.float32)
    np.testing.assert_allclose(lin(Tensor(x)).data, x @ lin.W.data)


def test_linear_wrong_input_size_names_the_layer():
    with pytest.raises(ValueError, match=r"Linear: input of shape \(2, 4\) must end in 3"):
        nn.Linear(3, 2)(Tensor(np.ones((2, 4), np.float32)))


def test_embedding_picks_rows_and_gradcheck(gradcheck_module):
    emb = nn.Embedding(5, 3)
    ids = np.array([[0, 4, 4], [1, 2, 0]])
    y = emb(ids)
    assert y.shape == (2, 3, 3)
    np.testing.assert_array_equal(y.data, emb.W.data[ids])
    gradcheck_module(emb, lambda: emb(ids))
    with pytest.raises(IndexError):
        emb(np.array([5]))


def test_layer_norm_normalises_and_gradcheck(gradcheck_module, rng):
    ln = nn.LayerNorm(4)
    y = ln(Tensor(rng.standard_normal((3, 4)) * 5 + 2)).data
    np.testing.assert_allclose(y.mean(-1), 0, atol=1e-6)
    np.testing.assert_allclose(y.std(-1), 1, atol=1e-3)
    ln.weight.data[:] = rng.standard_normal(4)
    ln.bias.data[:] = rng.standard_normal(4)
    gradcheck_module(ln, ln, rng.standard_normal((2, 4)))


def test_dropout_rejects_bad_p():
    with pytest.raises(ValueError):
        nn.Dropout(1.0)
