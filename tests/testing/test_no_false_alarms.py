"""No false alarms: correct op graphs, their nodes and the example's layers pass the fast checks, with room to spare.

The inputs are small, so the checks are asked for their directional form (`dense_up_to=0`).

Each test records the largest |E| / tolerance any direction reached (1 would be an alarm) and
asserts it stays below MARGIN: a tolerance that crept down towards the finite differences' real
error would show here before it raised on someone's correct op. benchmarks/gradcheck_scale.py
--alarms runs the same sweep with thousands of examples (and the models); docs/checking.md
has its numbers.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from tinygrad_attn import Tensor
from tinygrad_attn.testing import check_graph, check_layer, directional, gradcheck, vjp_check
from tinygrad_attn.testing import strategies as tst

MARGIN = 0.5
EXAMPLES = 200  # per test; the ci profile's 30 is for the other hypothesis tests

_spec = importlib.util.spec_from_file_location(
    "check_handwritten_layers", Path(__file__).resolve().parents[2] / "examples" / "check_handwritten_layers.py"
)
ex = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ex)


@pytest.fixture
def worst(monkeypatch):
    """The largest |E| / tolerance of every direction the checks measure while the test runs."""
    seen = [0.0]
    screen = directional.screen

    def recording(subject, *args, **kwargs):
        scr = screen(subject, *args, **kwargs)
        for r in scr.rounds:
            b = r.base
            seen[0] = max(seen[0], abs(b.E) / (b.tau + b.slack))
            if r.w1 is not None:
                seen[0] = max(seen[0], abs(r.shifted) / r.shifted_tau)
        return scr

    monkeypatch.setattr(directional, "screen", recording)
    return seen


many = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))


def _smooth_cases():
    return tst.graph_cases(ops=tst.SMOOTH_OPS, max_depth=4)


def test_smooth_graphs_first_and_second_order(worst):
    @many
    @given(_smooth_cases())
    def check(case):
        g, xs = case
        assert gradcheck(g, *xs, dense_up_to=0) and vjp_check(g, *xs, order=2, dense_up_to=0)

    check()
    assert worst[0] < MARGIN


def test_graphs_with_kinks_away_from_them(worst):
    @many
    @given(tst.graph_cases(max_depth=4))
    def check(case):
        g, xs = case
        assert gradcheck(g, *xs, dense_up_to=0)

    check()
    assert worst[0] < MARGIN


def test_every_node_of_smooth_graphs(worst):
    @many
    @given(_smooth_cases())
    def check(case):
        g, xs = case
        y = g(*[Tensor(x, requires_grad=True) for x in xs])
        if y.requires_grad:
            report = check_graph(y)
            assert report.ok, f"{g!r}\n{report}"

    check()
    assert worst[0] < MARGIN


def test_the_examples_layers_in_float64_and_float32(worst):
    @settings(many, max_examples=EXAMPLES // 2)
    @given(tst.layer_dims(max_side=8))
    def check(dims):
        rng = np.random.default_rng(dims.N * 1000 + dims.T * 100 + dims.D * 10 + dims.H)
        N, T, D, H = dims.N, dims.T, dims.D, dims.H
        x, h, hs = rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, T, H))
        for dt in (np.float64, np.float32):
            cell = ex.RNNCell(*[(rng.standard_normal(s) * 0.5).astype(dt) for s in [(D, H), (H, H), (H,)]])
            affine = ex.Affine(rng.standard_normal((D, H)).astype(dt), rng.standard_normal(H).astype(dt))
            assert check_layer(affine, x.astype(dt), dense_up_to=0)
            assert check_layer(cell, x.astype(dt), h.astype(dt), dense_up_to=0)
            assert check_layer(ex.Attention(), hs.astype(dt), h.astype(dt), dense_up_to=0)

    check()
    assert worst[0] < MARGIN
