"""The hypothesis strategies: shapes and values as promised, and op graphs that check and shrink."""

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, find, given, settings
from hypothesis import strategies as st

from tinygrad_attn import Tensor
from tinygrad_attn.testing import GradcheckError, gradcheck, vjp_check
from tinygrad_attn.testing import strategies as tst
from tinygrad_attn.testing.broken import WrongTanh


@given(shape=tst.shapes(min_dims=1, max_dims=3, max_side=4))
def test_shapes_respect_bounds(shape):
    assert 1 <= len(shape) <= 3 and all(1 <= n <= 4 for n in shape)


@given(pair=tst.broadcastable_shapes())
def test_broadcastable_shapes_broadcast(pair):
    a, b = pair
    out = np.broadcast_shapes(a, b)
    assert len(out) == max(len(a), len(b))


@given(x=tst.arrays(domain="positive"))
def test_positive_domain(x):
    assert x.dtype == np.float64 and (x >= 0.1).all()


@given(x=tst.arrays(domain="nonzero"))
def test_nonzero_domain_keeps_away_from_the_kink(x):
    assert (np.abs(x) >= 0.1).all() and (np.abs(x) <= 3).all()


@given(x=tst.arrays(tst.shapes(min_dims=1), domain="distinct"))
def test_distinct_domain_has_no_near_ties(x):
    v = np.sort(x.reshape(-1))
    assert (np.diff(v) >= 0.25 - 1e-12).all()


@given(x=tst.arrays((2, 3), elements=st.just(1.5), dtype=np.float32))
def test_elements_and_dtype_override(x):
    assert x.shape == (2, 3) and x.dtype == np.float32 and (x == 1.5).all()


@given(t=tst.tensors(tst.shapes(max_dims=2)))
def test_tensors_are_float64_leaves_requiring_grad(t):
    assert isinstance(t, Tensor) and t.dtype == np.float64 and t.requires_grad and t.is_leaf


@given(axis=tst.shapes(min_dims=1).flatmap(lambda s: tst.axes(len(s)).map(lambda a: (s, a))))
def test_axes_are_valid_for_numpy(axis):
    shape, a = axis
    np.zeros(shape).sum(axis=a)


# ---- op graphs -----------------------------------------------------------------------------------
def _graph_and_inputs(ops=tst.OP_TABLE, max_depth=3):
    return tst.op_graphs(ops=ops, max_depth=max_depth).flatmap(lambda g: g.inputs().map(lambda xs: (g, xs)))


@given(case=_graph_and_inputs())
def test_op_graphs_are_callable_and_readable(case):
    g, xs = case
    y = g(*[Tensor(x) for x in xs])
    assert isinstance(y, Tensor)
    text = repr(g)
    assert text.startswith("<OpGraph ") and "x0" in text
    assert all(f"x{i}: {s}" in text for i, s in enumerate(g.input_shapes))
    assert len(g) >= 1 and g.ops[0] in {op.name for op in tst.OP_TABLE}


@given(case=_graph_and_inputs(tst.SMOOTH_OPS))
def test_smooth_op_graphs_first_and_second_order(case):
    g, xs = case
    with np.errstate(over="ignore"):
        y = g(*[Tensor(x) for x in xs]).data
    assume(np.isfinite(y).all() and np.abs(y).max(initial=0) < 1e4)
    assert gradcheck(g, *xs, atol=1e-5, rtol=1e-4)
    assert vjp_check(g, *xs, order=2, atol=1e-4, rtol=1e-3)


@given(case=_graph_and_inputs())
def test_op_graphs_with_kinks_first_order_away_from_the_kinks(case):
    g, xs = case
    assume(g.kink_distance(*xs) > 1e-3)
    with np.errstate(over="ignore"):
        y = g(*[Tensor(x) for x in xs]).data
    assume(np.isfinite(y).all() and np.abs(y).max(initial=0) < 1e4)
    assert gradcheck(g, *xs)


def test_kink_distance_measures_relu_inputs():
    g = tst.OpGraph(tst.graph_node("relu", tst.graph_input(0, (2,))))
    assert g.kink_distance(np.array([0.5, -0.01])) == 0.01
    assert g.expression() == "relu(x0)"


BROKEN = tst.unary_op("broken_tanh", WrongTanh.apply)


def _fails_gradcheck(case):
    g, xs = case
    with np.errstate(all="ignore"):
        y = g(*[Tensor(x) for x in xs]).data
    if not np.isfinite(y).all() or np.abs(y).max(initial=0) > 1e4:
        return False
    try:
        gradcheck(g, *xs)
    except GradcheckError:
        return True
    return False


def test_op_graphs_shrink_to_the_minimal_failing_graph():
    """Among graphs that mix the broken op with healthy ones, hypothesis shrinks a failure to the op alone."""
    table = tst.SMOOTH_OPS + (BROKEN,)
    g, xs = find(
        _graph_and_inputs(table),
        lambda case: "broken_tanh" in case[0].ops and len(case[0]) >= 3 and _fails_gradcheck(case),
        settings=settings(max_examples=2000, database=None, derandomize=True, suppress_health_check=list(HealthCheck)),
    )
    assert len(g) == 3  # the condition forces three ops; hypothesis found the smallest such case
    g, xs = find(
        _graph_and_inputs(table),
        _fails_gradcheck,
        settings=settings(max_examples=2000, database=None, derandomize=True, suppress_health_check=list(HealthCheck)),
    )
    assert g.ops == ["broken_tanh"], repr(g)
    assert g.expression() == "broken_tanh(x0)" and g.input_shapes == ((),)
    assert xs[0] != 0  # at x = 0 the wrong derivative 1 - tanh happens to equal 1 - tanh^2 ...
    # ... for the dense check (one element: gradcheck's default there); the directional check also runs
    # backward at x + h d, one of the points it differences, and catches it even at 0
    with pytest.raises(GradcheckError, match=r"at x \+ h d") as info:
        gradcheck(g, np.zeros(()), dense_up_to=0)
    assert info.value.where == "x + h d" and info.value.op == "WrongTanh"
