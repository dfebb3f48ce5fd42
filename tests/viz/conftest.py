"""Fixtures shared by the viz tests: a PATH without the system `dot`, a small scalar chain, a recorded backward."""

import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import Tensor
from viz import render


@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    """PATH without the Graphviz `dot` program: the embedded renderer draws."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    assert render.system_dot() is None


def record(loss):
    """The record of one `loss.backward()` (no retain_grad)."""
    with ta.record_backward() as rec:
        loss.backward()
    return rec


def tanh_chain(n=4, backward=True):
    """h_k = tanh(h_(k-1)) from a float64 scalar x; returns (h_n, x), after backward(retain_grad=True) if asked."""
    x = Tensor(1.0, requires_grad=True, name="x", dtype=np.float64)
    h = x
    for k in range(1, n + 1):
        h = h.tanh()
        h.name = f"h_{k}"
    if backward:
        h.backward(retain_grad=True)
    return h, x


def recorded_chain(n=4):
    """The chain of `tanh_chain` and the record of its backward: (record, h_n, x)."""
    h, x = tanh_chain(n, backward=False)
    return record(h), h, x
