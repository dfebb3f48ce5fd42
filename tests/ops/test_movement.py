"""Movement ops: reshape, transpose, .T, swapaxes, getitem, concat, stack (all linear)."""

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_attn as ta
from tinygrad_attn import Tensor
from tinygrad_attn.testing import gradcheck, vjp_check
from tinygrad_attn.testing import strategies as tst


def _check(f, *xs, ref=None):
    """Forward against `ref` on the arrays, then first and second order gradients."""
    if ref is not None:
        np.testing.assert_array_equal(f(*[Tensor(x) for x in xs]).data, ref(*xs))
    assert gradcheck(f, *xs)
    assert vjp_check(lambda *ts: f(*ts) * f(*ts), *xs, order=2)  # squared: a non-zero second derivative


@st.composite
def _reshape_case(draw):
    x = draw(tst.arrays(tst.shapes(max_dims=4)), label="x")
    factors = []
    for n in x.shape:  # split the size into a new list of factors, in a shuffled order
        factors.extend([n] if n < 4 or draw(st.booleans()) else [2, n // 2])
    new = tuple(draw(st.permutations(factors))) if factors else ()
    if new and draw(st.booleans(), label="use -1"):
        i = draw(st.integers(0, len(new) - 1))
        new = new[:i] + (-1,) + new[i + 1 :]
    return x, new


@given(case=_reshape_case())
def test_reshape(case):
    x, new = case
    _check(lambda t: t.reshape(new), x, ref=lambda a: a.reshape(new))
    _check(lambda t: t.reshape(*new), x, ref=lambda a: a.reshape(new))


@given(x=tst.arrays(tst.shapes(max_dims=4)), data=st.data())
def test_transpose_with_axes(x, data):
    axes = tuple(data.draw(st.permutations(range(x.ndim)), label="axes"))
    _check(lambda t: t.transpose(axes), x, ref=lambda a: a.transpose(axes))
    _check(lambda t: t.transpose(*axes), x, ref=lambda a: a.transpose(axes))


@given(x=tst.arrays(tst.shapes(max_dims=4)))
def test_transpose_without_axes_and_T(x):
    _check(lambda t: t.transpose(), x, ref=lambda a: a.transpose())
    _check(lambda t: t.T, x, ref=lambda a: a.T)


@given(x=tst.arrays(tst.shapes(min_dims=1, max_dims=4)), data=st.data())
def test_swapaxes(x, data):
    a = data.draw(st.integers(-x.ndim, x.ndim - 1), label="a")
    b = data.draw(st.integers(-x.ndim, x.ndim - 1), label="b")
    _check(lambda t: t.swapaxes(a, b), x, ref=lambda arr: arr.swapaxes(a, b))


@given(x=tst.arrays(tst.shapes(min_dims=1)), data=st.data())
def test_getitem_basic_indices(x, data):
    idx = data.draw(hnp.basic_indices(x.shape, allow_newaxis=True, allow_ellipsis=True), label="idx")
    assume(np.asarray(x[idx]).size > 0)
    _check(lambda t: t[idx], x, ref=lambda a: a[idx])


@given(x=tst.arrays(tst.shapes(min_dims=1)), data=st.data())
def test_getitem_integer_array_with_repeats_accumulates(x, data):
    n = x.shape[0]
    idx = np.asarray(data.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=6), label="idx"))
    _check(lambda t: t[idx], x, ref=lambda a: a[idx])
    t = Tensor(x, requires_grad=True)
    t[idx].sum().backward()
    counts = np.bincount(idx % n, minlength=n).reshape((n,) + (1,) * (x.ndim - 1))
    np.testing.assert_array_equal(t.grad.data, np.broadcast_to(counts, x.shape))


def test_getitem_repeated_rows_example():
    x = Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    x[[0, 2, 0, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[3, 3], [0, 0], [1, 1]])


@given(x=tst.arrays(tst.shapes(min_dims=2)), data=st.data())
def test_getitem_mixed_int_slice_and_array(x, data):
    rows = np.asarray(data.draw(st.lists(st.integers(0, x.shape[0] - 1), min_size=1, max_size=4), label="rows"))
    j = data.draw(st.integers(-x.shape[1], x.shape[1] - 1), label="j")
    _check(lambda t: t[rows, j], x, ref=lambda a: a[rows, j])
    if x.shape[0] > 1:
        _check(lambda t: t[1:, j], x, ref=lambda a: a[1:, j])
    cols = Tensor(np.array([0, 0]))  # a Tensor of ints works as an index too
    _check(lambda t: t[..., cols], x, ref=lambda a: a[..., np.array([0, 0])])


@given(x=tst.arrays(tst.shapes(min_dims=1)), data=st.data())
def test_getitem_boolean_mask(x, data):
    mask = data.draw(hnp.arrays(bool, x.shape), label="mask")
    assume(mask.any())
    _check(lambda t: t[mask], x, ref=lambda a: a[mask])
    t = Tensor(x, requires_grad=True)
    t[mask].sum().backward()
    np.testing.assert_array_equal(t.grad.data, mask.astype(float))


@st.composite
def _concat_case(draw):
    base = draw(tst.shapes(min_dims=1), label="shape")
    axis = draw(st.integers(-len(base), len(base) - 1), label="axis")
    n = draw(st.integers(1, 3), label="n")
    xs = []
    for _ in range(n):
        s = list(base)
        s[axis] = draw(st.integers(1, 3))
        xs.append(draw(tst.arrays(tuple(s))))
    return xs, axis


@given(case=_concat_case())
def test_concat(case):
    xs, axis = case
    _check(lambda *ts: ta.concat(list(ts), axis), *xs, ref=lambda *a: np.concatenate(a, axis))
    _check(lambda *ts: ta.concat(ts, axis=axis), *xs, ref=lambda *a: np.concatenate(a, axis))


@given(shape=tst.shapes(), n=st.integers(1, 3), data=st.data())
def test_stack(shape, n, data):
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)), label="axis")
    xs = [data.draw(tst.arrays(shape), label=f"x{i}") for i in range(n)]
    _check(lambda *ts: ta.stack(list(ts), axis), *xs, ref=lambda *a: np.stack(a, axis))


def test_reshape_to_same_shape_still_tracks_gradient():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    (x.reshape(2, 3) * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.full((2, 3), 2.0))
