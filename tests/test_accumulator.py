"""The accumulator sums gradients in one place (`add_all`); `add` (one input at a time) and the seed go through it."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_attn import Tensor
from tinygrad_attn.autograd import Accumulator


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 5), seed=st.integers(0, 999), arrays=st.booleans(), fan_in=st.integers(1, 4))
def test_add_one_at_a_time_and_add_all_accumulate_the_same(n, seed, arrays, fan_in):
    rng = np.random.default_rng(seed)
    leaf = Tensor(rng.standard_normal(n), requires_grad=True)
    node = leaf * 2.0  # an interior tensor: scheduled on its first gradient
    mul = (node * leaf).op  # a node whose inputs are `node` and `leaf`
    wrap = (lambda a: a) if arrays else Tensor
    gs = [rng.standard_normal(n) for _ in range(fan_in)]
    results = []
    for one_by_one in (True, False):
        acc = Accumulator(arrays)
        for g in gs:
            if one_by_one:
                acc.add(mul, 0, wrap(g.copy()))
                acc.add(mul, 1, wrap(g.copy()))
            else:
                acc.add_all(mul, (wrap(g.copy()), wrap(g.copy())))
        got = [np.asarray(getattr(acc.grads[t], "data", acc.grads[t])) for t in (node, leaf)]
        results.append((got, list(acc.waiting.values()), list(acc.leaves)))
    (a_grads, a_wait, a_leaves), (b_grads, b_wait, b_leaves) = results
    for x, y in zip(a_grads, b_grads):
        np.testing.assert_array_equal(x, y)
        np.testing.assert_allclose(x, np.sum(gs, axis=0), rtol=1e-12)
    assert a_wait == b_wait == [node] and a_leaves == b_leaves == [leaf]


def test_only_a_buffer_the_sweep_made_is_added_into_in_place():
    leaf = Tensor(np.zeros(3), requires_grad=True)
    mul = (leaf * 1.0).op
    first = np.ones(3)
    acc = Accumulator(True)
    acc.add(mul, 0, first)
    acc.add(mul, 0, np.ones(3))  # a new array: `first` belongs to whoever returned it
    acc.add(mul, 0, np.ones(3))  # now in place, into the sweep's own sum
    np.testing.assert_array_equal(first, [1, 1, 1])
    np.testing.assert_array_equal(acc.grads[leaf], [3, 3, 3])
