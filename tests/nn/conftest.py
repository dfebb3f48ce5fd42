"""Shared helpers for the nn tests: seeding and gradient checks of whole modules."""

import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn.testing import gradcheck


@pytest.fixture(autouse=True)
def _seed():
    ta.seed(0)


def _set_param(module, dotted, value):
    *path, leaf = dotted.split(".")
    for name in path:
        module = module._modules[name]
    setattr(module, leaf, value)


def _gradcheck_module(module, fn, *inputs, **tol):
    """gradcheck fn(*inputs) w.r.t. the float inputs and every parameter of `module`, in float64."""
    named = list(module.named_parameters())
    k = len(inputs)

    def wrapped(*args):
        for (name, _), p in zip(named, args[k:]):
            _set_param(module, name, p)
        return fn(*args[:k])

    return gradcheck(wrapped, *inputs, *[p.data.astype(np.float64) for _, p in named], **tol)


@pytest.fixture
def gradcheck_module():
    return _gradcheck_module


@pytest.fixture
def rng():
    return np.random.default_rng(0)
