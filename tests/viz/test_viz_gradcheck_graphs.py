"""Gradcheck meets the picture: hypothesis's shrunk counterexample from `op_graphs()` is drawn."""

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings

from tinygrad_attn import Tensor
from tinygrad_attn.testing import GradcheckError, gradcheck
from tinygrad_attn.testing import strategies as tst
from tinygrad_attn.testing.broken import WrongTanh

WRONG = tst.GraphOp("wrong_tanh", tst._same, lambda x: WrongTanh.apply(x), lambda c: f"wrong_tanh({c[0]})")
CASES = tst.op_graphs(ops=tst.SMOOTH_OPS + (WRONG,), max_depth=2).flatmap(lambda g: g.inputs().map(lambda xs: (g, xs)))


def test_shrunk_counterexample_is_drawn_in_the_failure_output(tmp_path):
    path = tmp_path / "counterexample.svg"
    seen = []

    @settings(max_examples=300, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(CASES)
    def check(case):
        g, xs = case
        with np.errstate(all="ignore"):
            y = g(*[Tensor(x) for x in xs]).data
        assume(np.isfinite(y).all() and np.abs(y).max(initial=0) < 1e4)
        seen.append(g.expression())
        gradcheck(g, *xs, render_on_failure=str(path))

    with pytest.raises(GradcheckError) as err:
        check()
    assert f"graph with the disagreeing input outlined: {path}" in str(err.value)
    svg = path.read_text(encoding="utf-8")
    assert "WrongTanh" in svg and "gradcheck FAILED" in svg and "#e00000" in svg
    # the picture on disk is the last one hypothesis ran: the shrunk, minimal failing graph
    assert seen[-1].startswith("wrong_tanh(") and seen[-1].count("(") <= 2
