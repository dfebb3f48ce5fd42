"""Hypothesis properties: recurrent layers and attention at random tiny sizes, against finite differences.

The gradcheck_module fixture is a pure function, so sharing it across examples is safe.
"""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_attn as ta
from tinygrad_attn import nn

dims = st.integers(1, 3)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cls=st.sampled_from([nn.RNN, nn.LSTM, nn.GRU]), N=dims, T=dims, D=dims, H=dims, seed=st.integers(0, 2**16))
def test_recurrent_layers_at_random_sizes(gradcheck_module, cls, N, T, D, H, seed):
    ta.seed(seed)
    rng = np.random.default_rng(seed)
    layer = cls(D, H)
    hs, _ = layer(ta.randn(N, T, D))
    assert hs.shape == (N, T, H)
    gradcheck_module(layer, lambda x: layer(x)[0], rng.standard_normal((N, T, D)))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(score=st.sampled_from(list(nn.SCORES)), N=dims, Tq=dims, Tk=dims, D=dims, seed=st.integers(0, 2**16))
def test_attention_scores_at_random_sizes(gradcheck_module, score, N, Tq, Tk, D, seed):
    ta.seed(seed)
    rng = np.random.default_rng(seed)
    att = nn.Attention(score, query_dim=D, key_dim=D, hidden_dim=2, max_len=3)
    mask = rng.random((N, 1, Tk)) < 0.7
    q, k, v = rng.standard_normal((N, Tq, D)), rng.standard_normal((N, Tk, D)), rng.standard_normal((N, Tk, 2))
    _, w = att(ta.Tensor(q), ta.Tensor(k), ta.Tensor(v), mask=mask)
    assert w.shape == (N, Tq, Tk)
    assert (w.data[~np.broadcast_to(mask, w.shape)] == 0).all()
    gradcheck_module(att, lambda q, k, v: att(q, k, v, mask=mask), q, k, v)
