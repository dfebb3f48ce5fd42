"""check_graph: every node's own backward against finite differences of its own forward."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import tinygrad_attn as ta
from tinygrad_attn import Tensor
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
    with ta.detect_anomaly():  # records each node's file:line
        y = (WrongTanh.apply(x * 3.0) + 1.0).log()
    report = check_graph(y)
    bad = report.first_failure
    assert [c.op for c in report.failures] == ["WrongTanh"]
    t = np.tanh(3 * np.array([0.2, -0.7]))
    j = bad.element[0]
    assert bad.out_element == bad.element  # elementwise: only the diagonal is non-zero
    assert bad.analytic == pytest.approx(1 - t[j]) and bad.numeric == pytest.approx(1 - t[j] ** 2, rel=1e-7)
    assert "test_graph_check.py" in bad.site and "WrongTanh created at" in str(report)


def test_a_node_whose_parameters_are_unknown_is_reported_unchecked_not_passed():
    x = _leaf(np.ones((2, 3)))
    y = x.sum(axis=0)  # re-running Sum with its defaults gives a different shape
    (check,) = check_graph(y).checks
    if getattr(y._ctx, "params", None) is None:
        assert check.ok is None and "parameters" in check.reason
    else:  # the engine records them: then the node is checked
        assert check.ok is True


def test_bad_arguments():
    with pytest.raises(TypeError, match="check_graph"):
        check_graph(np.ones(2))
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
