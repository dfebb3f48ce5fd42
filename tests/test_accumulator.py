"""The accumulator's two ways in, `put` and the written-out copy in `add_all`, sum gradients alike."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_attn as ta
from tinygrad_attn import Tensor
from tinygrad_attn.autograd import Accumulator


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 5), seed=st.integers(0, 999), arrays=st.booleans(), fan_in=st.integers(1, 4))
def test_add_all_and_put_accumulate_the_same(n, seed, arrays, fan_in):
    rng = np.random.default_rng(seed)
    leaf = Tensor(rng.standard_normal(n), requires_grad=True)
    node = leaf * 2.0  # an interior tensor: scheduled on its first gradient
    wrap = (lambda a: a) if arrays else Tensor
    gs = [rng.standard_normal(n) for _ in range(fan_in)]
    results = []
    for use_put in (True, False):
        acc = Accumulator(arrays)
        for g in gs:
            if use_put:
                acc.put(node, wrap(g.copy()))
                acc.put(leaf, wrap(g.copy()))
            else:
                mul = (node * leaf).op  # a node whose inputs are `node` and `leaf`
                acc.add_all(mul, (wrap(g.copy()), wrap(g.copy())))
        got = [np.asarray(getattr(acc.grads[t], "data", acc.grads[t])) for t in (node, leaf)]
        results.append((got, list(acc.waiting.values()), list(acc.leaves)))
    (a_grads, a_wait, a_leaves), (b_grads, b_wait, b_leaves) = results
    for x, y in zip(a_grads, b_grads):
        np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(x, np.sum(gs, axis=0) if fan_in > 1 else gs[0])
    assert a_wait == b_wait == [node] and a_leaves == b_leaves == [leaf]
    assert ta.is_grad_enabled()
