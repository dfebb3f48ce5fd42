"""check_graph: every node's own backward against finite differences of its own forward."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import tinygrad_attn as ta
from tinygrad_attn import Function, Tensor
from tinygrad_attn.testing import check_graph, check_node
from tinygrad_attn.testing import strategies as tst
from tinygrad_attn.testing.broken import WrongTanh


def _leaf(a):
    return Tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def test_a_correct_graph_passes_every_local_check():
    x, w = _leaf([[0.1, -0.5, 0.3]]), _leaf(np.linspace(-1, 1, 6).reshape(3, 2))
    y = ((x @ w).tanh() * x.sum()).exp()
    report = check_graph(y)
    assert report.ok and not report.unchecked
    # MatMul 2 inputs, Tanh 1, Sum 1, Mul 2, Exp 1
    assert sorted(c.op for c in report.checks) == sorted(["MatMul"] * 2 + ["Tanh", "Sum", "Mul", "Mul", "Exp"])


def test_the_first_wrong_node_in_backward_order_is_reported_with_raw_numbers():
    x = _leaf([0.2, -0.7])
    with ta.record_sites():  # each node remembers its file:line
        y = (WrongTanh.apply(x * 3.0) + 1.0).log()
    report = check_graph(y)
    bad = report.first_failure
    assert [c.op for c in report.failures] == ["WrongTanh"]
    t = np.tanh(3 * np.array([0.2, -0.7]))
    j = bad.element[0]
    assert bad.out_element == bad.element  # elementwise: only the diagonal is non-zero
    assert bad.analytic == pytest.approx(1 - t[j]) and bad.numeric == pytest.approx(1 - t[j] ** 2, rel=1e-7)
    assert "test_graph_check.py" in bad.site and "WrongTanh created at" in str(report)


def test_nodes_are_rerun_with_the_keyword_arguments_they_were_made_with():
    x = _leaf(np.arange(6.0).reshape(2, 3) / 7)
    y = (x.sum(axis=0) * x.max(axis=1, keepdims=True)).clip(0.1, 0.5)  # defaults would give other shapes
    report = check_graph(y)
    assert report.ok and not report.unchecked
    assert {c.op for c in report.checks} >= {"Sum", "Max", "Clip"}
    # a wrong rule that needs its axis to run forward: checked, and caught
    z = SumWrongKeepdims.apply(x, axis=1)
    (check,) = check_graph(z).checks
    assert check.ok is False and check.op == "SumWrongKeepdims"


class SumWrongKeepdims(Function):
    """x.sum(axis=1) of a matrix whose backward weighs column j by j + 1 instead of copying g to every column."""

    def forward(self, x, axis):
        return x.sum(axis=axis)

    def backward(self, g, ins, out):
        return np.broadcast_to(np.asarray(g)[:, None] * np.arange(1, ins[0].shape[1] + 1), ins[0].shape)


def test_the_nodes_come_from_the_engines_record_in_its_order():
    x, w = _leaf([[0.3, -0.2]]), _leaf([[0.5], [-1.5]])
    h = x @ w
    y = (WrongTanh.apply(h) * WrongTanh.apply(h * 2.0)).sum() + x.exp().sum()
    with ta.record_backward() as rec:
        y.backward(retain_graph=True)
    report = check_graph(y)
    order = [s.fn for s in rec.steps]
    assert [c.step.fn for c in report.checks] == sorted([c.step.fn for c in report.checks], key=order.index)
    assert [c.step.fn for c in report.failures] == [s.fn for s in rec.steps if s.op == "WrongTanh"]
    assert report.first_failure.step.fn is next(s.fn for s in rec.steps if s.op == "WrongTanh")
    # a record of a backward already run (and freed) gives the same report
    again = check_graph(rec)
    assert [(c.op, c.input_index, c.ok) for c in again.checks] == [(c.op, c.input_index, c.ok) for c in report.checks]


def test_check_graph_leaves_every_grad_as_it_was():
    x = _leaf([0.5, -1.0])
    x.grad = Tensor(np.array([7.0, 8.0]))
    h = (x * 3.0).retain_grad()
    y = h.tanh().sum()
    assert check_graph(y).ok
    np.testing.assert_array_equal(x.grad.data, [7.0, 8.0])
    assert h.grad is None
    y.backward()  # the graph is still there, and the gradient is counted once
    np.testing.assert_allclose(x.grad.data, [7.0, 8.0] + 3 / np.cosh(3 * x.data) ** 2)


def _three_deep(x):
    h = (x * 2.0).tanh()
    s = WrongSoftplus.apply(h)  # THE WRONG NODE
    return (s * s).sum(axis=0).exp()


class WrongSoftplus(Function):
    """log(1 + e^x) whose backward uses the output where it should use sigmoid(x)."""

    def forward(self, x):
        return np.log1p(np.exp(x))

    def backward(self, g, ins, out):
        return g * out


def test_a_wrong_op_three_nodes_deep_is_named_with_this_files_line():
    x = _leaf([[0.2, -0.4], [0.9, 0.1]])
    with ta.record_sites():
        y = _three_deep(x)
    report = check_graph(y)
    line = next(i for i, s in enumerate(open(__file__).read().splitlines(), 1) if "THE WRONG NODE" in s)
    bad = report.first_failure
    assert [c.op for c in report.failures] == ["WrongSoftplus"]
    assert bad.site.endswith(f"test_graph_check.py:{line}") and bad.input_index == 0
    h = np.tanh(2 * x.data)
    assert bad.analytic == pytest.approx(np.log1p(np.exp(h[bad.element])))  # the raw local derivatives
    assert bad.numeric == pytest.approx(1 / (1 + np.exp(-h[bad.element])), rel=1e-7)
    assert f"WrongSoftplus created at {bad.site}: d out[" in str(report)


class TwoGradsForOne(Function):
    """exp(x) whose backward returns two gradients for its one input."""

    def forward(self, x):
        return np.exp(x)

    def backward(self, g, ins, out):
        return g * out, g


def test_a_backward_that_raises_midway_is_the_node_reported():
    x = _leaf([0.1, 0.2])
    y = (TwoGradsForOne.apply(x.tanh()) * 2.0).sum()
    report = check_graph(y)
    assert not report.ok and "returned 2 gradients for 1 input" in report.error
    assert report.first_failure.op == "TwoGradsForOne" and "2 gradients" in report.first_failure.reason
    assert "Tanh" not in [c.op for c in report.checks]  # the backward never got there
    assert x.grad is None


def test_a_hook_that_raises_names_the_node_it_hangs_on():
    x = _leaf([0.1, 0.2])
    h = x.exp()
    h.register_hook(lambda g: 1 / 0)  # runs when the engine reaches Exp's node, before its rule
    report = check_graph((h * 3.0).sum())
    assert report.first_failure.op == "Exp" and "stopped here: ZeroDivisionError" in report.first_failure.describe()


def test_a_freed_graph_asks_for_a_record():
    x = _leaf([0.1, 0.2])
    y = x.tanh().sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"(?s)check_graph: .*second time.*record_backward"):
        check_graph(y)


def test_bad_arguments():
    with pytest.raises(TypeError, match="check_graph"):
        check_graph(np.ones(2))
    with pytest.raises(TypeError, match="check_graph"):
        check_graph()
    with pytest.raises(ValueError, match="no graph"):
        check_graph(Tensor(np.ones(2)))
    with pytest.raises(ValueError, match="leaf"):
        check_node(_leaf([1.0]))


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(tst.op_graphs(ops=tst.SMOOTH_OPS, max_depth=3).flatmap(lambda g: g.inputs().map(lambda xs: (g, xs))))
def test_no_false_alarms_on_smooth_graphs(case):
    g, xs = case
    y = g(*[_leaf(x) for x in xs])
    if y.requires_grad:
        report = check_graph(y)
        assert report.ok, f"{g!r}\n{report}"


def test_a_backward_that_writes_into_its_input_is_flagged_even_though_its_numbers_are_right():
    from tinygrad_attn.testing.broken import ClobberingTanh

    x = _leaf([0.3, -0.6])
    report = check_graph(ClobberingTanh.apply(x * 1.0).sum())
    (bad,) = report.failures
    assert bad.op == "ClobberingTanh" and "wrote into its input 0" in bad.reason
    assert check_graph(WrongTanh.apply(x * 1.0).sum()).first_failure.reason == ""  # a plain wrong number
