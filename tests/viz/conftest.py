"""Fixtures shared by the viz tests: a PATH without the system `dot`, and a small scalar chain."""

import numpy as np
import pytest

from tinygrad_attn import Tensor
from viz import render


@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    """PATH without the Graphviz `dot` program: the embedded renderer draws."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    assert render.system_dot() is None


def tanh_chain(n=4, backward=True):
    """h_k = tanh(h_(k-1)) from a float64 scalar x; returns (h_n, x)."""
    x = Tensor(1.0, requires_grad=True, name="x", dtype=np.float64)
    h = x
    for k in range(1, n + 1):
        h = h.tanh()
        h.name = f"h_{k}"
    if backward:
        h.backward(retain_grad=True)
    return h, x
