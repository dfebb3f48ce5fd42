"""Graph-level properties: they hold on every drawn graph, and each one catches the bug it is there for."""

import numpy as np
import pytest
from hypothesis import given

from tinygrad_attn import Tensor, autograd
from tinygrad_attn.testing import PropertyError, properties
from tinygrad_attn.testing import strategies as tst
from tinygrad_attn.testing.broken import ClobberingTanh, DecayTanh, MeanReducingMul, WrongTanh

CHECKS = {
    "linearity": properties.check_linearity,
    "adjoint": properties.check_adjoint,
    "fan-out": properties.check_fan_out,
    "broadcast": properties.check_broadcast,
}


@given(tst.graph_cases())
def test_every_property_holds_on_drawn_graphs_away_from_kinks(case):
    g, xs = case
    assert properties.check_all(g, *xs)


@given(tst.graph_cases(kink_margin=0.05))
def test_graph_cases_keep_inputs_away_from_kinks_and_overflow(case):
    g, xs = case
    assert g.kink_distance(*xs) > 0.05
    y = g(*[Tensor(x) for x in xs]).data
    assert np.isfinite(y).all() and np.abs(y).max(initial=0) < 1e4


@given(tst.graph_cases())
def test_untied_and_written_out_graphs_compute_the_same_values(case):
    g, xs = case
    ts = [Tensor(x) for x in xs]
    y = g(*ts).data
    y_untied, uses = g.evaluate(*ts, untie=True)
    y_out, _ = g.evaluate(*ts, untie=True, explicit_broadcast=True)
    np.testing.assert_array_equal(y_untied.data, y)
    np.testing.assert_allclose(y_out.data, y, rtol=1e-12, atol=1e-12)
    assert sorted(i for i, _ in uses) == [i for i, n in enumerate(g.uses()) for _ in range(n)]
    assert all(t is not ts[i] for i, t in uses)  # every use has its own leaf


def _made_here(site):
    """The site is a line of this file (the table's ops run inside the package: the caller's line counts)."""
    path, line = site.rsplit(":", 1)
    return path.endswith("test_properties.py") and 0 < int(line) <= len(open(__file__).read().splitlines())


MEAN_MUL = tst.binary_op("mean_mul", MeanReducingMul.apply)
x0, x1 = tst.graph_input(0, (2, 3)), tst.graph_input(1, (3,))
node = tst.graph_node
WRONG_TANH = tst.unary_op("wrong_tanh", WrongTanh.apply)
BROKEN = {
    # graph, op to blame, the properties that must fail (the others must hold)
    "wrong derivative": (
        node("mul", node(WRONG_TANH, x0), x1),
        "WrongTanh",
        {"adjoint"},
    ),
    "affine in g": (node(tst.unary_op("decay_tanh", DecayTanh.apply), x0), "DecayTanh", {"linearity", "adjoint"}),
    "writes into its input": (
        node("add", node("mul", x0, x0), node(tst.unary_op("clobber", ClobberingTanh.apply), x0)),
        "ClobberingTanh",
        {"fan-out", "adjoint"},
    ),
    "mean for sum": (node(MEAN_MUL, x1, x0), "MeanReducingMul", {"broadcast", "adjoint"}),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_each_property_catches_the_broken_op_it_is_there_for(case):
    root, culprit, failing = BROKEN[case]
    g = tst.OpGraph(root)
    rng = np.random.default_rng(5)
    xs = [rng.uniform(-0.9, 0.9, s) for s in g.input_shapes]
    for name, check in CHECKS.items():
        if name not in failing:
            assert check(g, *xs), name
            continue
        with pytest.raises(PropertyError) as info:
            check(g, *xs)
        err = info.value
        assert err.property == name and str(err).startswith(f"{name} in <OpGraph")
        assert err.op == culprit and _made_here(err.site)
        assert f"first node whose own backward is wrong: {culprit} created at" in str(err)


def test_the_fan_out_message_counts_the_uses_and_the_sums():
    g = tst.OpGraph(BROKEN["writes into its input"][0])
    xs = [np.array([[0.5, -0.2, 0.1], [0.3, 0.7, -0.6]])]
    with pytest.raises(PropertyError, match=r"input 0 is used 3 times: its gradient\[\d, \d\] = ") as info:
        properties.check_fan_out(g, *xs)
    assert "backward wrote into its input 0" in str(info.value)
    # the right value is the one the untied graph gives: gradcheck's sum of the three uses
    x = xs[0]
    j = info.value.element
    assert info.value.numeric == pytest.approx((2 * x + 1 - np.tanh(x) ** 2)[j] * _cotangent(g, xs)[j])


def _cotangent(g, xs, seed=0):
    """The cotangent the property drew (first draw of its generator) for g's output."""
    return np.random.default_rng(seed).standard_normal(g(*[Tensor(x) for x in xs]).shape)


def test_fan_out_catches_an_engine_that_overwrites_instead_of_adding(monkeypatch):
    g = tst.OpGraph(node("add", node("tanh", x0), node("exp", x0)))
    xs = [np.linspace(-0.8, 0.8, 6).reshape(2, 3)]
    assert properties.check_fan_out(g, *xs)
    add_all = autograd.Accumulator.add_all

    def overwrite(self, fn, grads, **kw):  # micrograd's `grad = ...` where it should be `grad += ...`, at the leaves
        for p in fn.inputs:
            if p._ctx is None:
                self.grads.pop(p, None)  # the gradients in flight, keyed by tensor
        add_all(self, fn, grads, **kw)

    monkeypatch.setattr(autograd.Accumulator, "add_all", overwrite)
    with pytest.raises(PropertyError, match="input 0 is used 2 times") as info:
        properties.check_fan_out(g, *xs)
    assert info.value.op is None  # every node's own rule is right: the engine is to blame
    assert properties.check_broadcast(g, *xs)  # untied on both sides: nothing fans out


def test_broadcast_catches_an_engine_that_averages_broadcast_gradients(monkeypatch):
    g = tst.OpGraph(node("mul", node("tanh", x1), x0))
    xs = [np.linspace(-0.8, 0.8, 6).reshape(2, 3), np.array([0.1, -0.4, 0.9])]
    assert properties.check_broadcast(g, *xs)

    def mean_to(a, shape):
        lead = a.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and a.shape[lead + i] > 1)
        return a.mean(axis=axes).reshape(shape)

    monkeypatch.setattr(autograd, "sum_to", mean_to)
    with pytest.raises(PropertyError, match=r"broadcast in .*input 1 of shape \(3,\)") as info:
        properties.check_broadcast(g, *xs)
    assert info.value.analytic == pytest.approx(info.value.numeric / 2)  # the mean of two rows


def test_linearity_and_adjoint_take_any_function_with_several_outputs():
    def f(a, b):
        return (a * b).tanh(), (a.exp() @ b).sum()

    a, b = np.array([[0.2, -0.5], [0.4, 0.1]]), np.array([[0.3], [-0.7]])
    assert properties.check_linearity(f, a, b) and properties.check_adjoint(f, a, b)
    with pytest.raises(PropertyError, match="adjoint: ") as info:
        properties.check_adjoint(lambda a, b: (WrongTanh.apply(a * b), a.sum()), a, b)  # THIS LINE
    line = next(i for i, s in enumerate(open(__file__).read().splitlines(), 1) if s.endswith("# THIS LINE"))
    assert info.value.op == "WrongTanh" and info.value.site.endswith(f"test_properties.py:{line}")


def test_adjoint_refuses_inputs_at_a_kink_and_fan_out_needs_a_graph():
    g = tst.OpGraph(node("relu", tst.graph_input(0, (2,))))
    assert properties.check_adjoint(g, np.array([0.5, -0.3]))
    with pytest.raises(ValueError, match="kink"):
        properties.check_adjoint(g, np.array([0.5, 1e-7]))
    with pytest.raises(TypeError, match="needs an OpGraph"):
        properties.check_fan_out(lambda t: t * t, np.ones(2))
    with pytest.raises(KeyError, match="no op 'nope'"):
        tst.op_named("nope")
    with pytest.raises(ValueError, match=r"input 0 of shape \(3,\) where the graph takes \(2,\)"):
        g(Tensor(np.ones(3)))
