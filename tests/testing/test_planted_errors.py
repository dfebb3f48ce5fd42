"""Planted errors: what the fast checks promise to catch (docs/checking.md), each next to its correct twin."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from tinygrad_attn import Function
from tinygrad_attn.testing import GradcheckError, check_layer, directional, gradcheck
from tinygrad_attn.testing.broken import MeanReducingMul, SpoiledMatMul, TransposedMatMul, stale_tanh

_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "check_handwritten_layers.py"
_spec = importlib.util.spec_from_file_location("check_handwritten_layers", _EXAMPLE)
_example = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_example)
Affine = _example.Affine  # the book's Affine: out = x W + b

SIZES = [10, 100, 1_000, 10_000, 100_000, 1_000_000]


def _matrices(n, rng, rows=4):
    a = max(2, int(round(np.sqrt(n))))
    return rng.standard_normal((rows, a)), rng.standard_normal((a, n // a)) / np.sqrt(a)


@pytest.mark.parametrize("n", SIZES)
def test_one_element_of_W_wrong_by_one_percent_is_named_at_any_size(n):
    rng = np.random.default_rng(n)
    x, W = _matrices(n, rng)
    assert gradcheck(lambda s, t: (s @ t).tanh(), x, W)
    for _ in range(3 if n <= 10_000 else 1):  # random places
        where = tuple(int(i) for i in rng.integers(0, W.shape))
        with pytest.raises(GradcheckError) as info:
            gradcheck(lambda s, t, where=where: SpoiledMatMul.apply(s, t, where=where).tanh(), x, W)
        err = info.value
        assert err.argument == 1 and err.element == where and err.op == "SpoiledMatMul"
        assert err.analytic == pytest.approx(1.01 * err.numeric, rel=1e-6)  # the raw d out[o] / d W[where]
        assert err.site is not None and err.site.endswith("test_planted_errors.py:" + str(_line("SpoiledMatMul.apply")))


class SpoiledTanh(Function):
    """Elementwise tanh whose gradient is 1 % off at one element: as many outputs as inputs."""

    def forward(self, x, where=(0,)):
        return np.tanh(x)

    def backward(self, g, ins, out):
        dx = g * (1 - out * out)
        dx[tuple(self.params["where"])] *= 1.01
        return dx


@pytest.mark.parametrize("n", SIZES[:-1])
def test_one_element_wrong_by_one_percent_among_as_many_outputs(n):
    rng = np.random.default_rng(n + 1)
    x = rng.standard_normal(n)
    assert gradcheck(lambda t: t.tanh(), x)
    where = (int(rng.integers(0, n)),)
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda t: SpoiledTanh.apply(t, where=where), x)
    err = info.value
    assert err.element == where and err.output == (0, where) and err.op == "SpoiledTanh"
    assert err.analytic == pytest.approx(1.01 * err.numeric, rel=1e-6)


def test_a_broadcast_gradient_averaged_instead_of_summed_is_named():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((512, 64)), rng.standard_normal(64)
    assert gradcheck(lambda s, t: (s * t).tanh(), a, b)
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda s, t: MeanReducingMul.apply(s, t).tanh(), a, b)
    err = info.value
    assert err.argument == 1 and err.op == "MeanReducingMul" and len(err.element) == 1
    # d out[n, j] / d b[j]: averaged over the 512 rows, it is 512 times too small
    assert err.analytic == pytest.approx(err.numeric / 512, rel=1e-6)


@pytest.mark.parametrize("n", [16, 1024])
def test_a_transposed_gradient_is_named(n):
    rng = np.random.default_rng(n)
    x, W = rng.standard_normal((8, n)), rng.standard_normal((n, n)) / np.sqrt(n)
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda s, t: TransposedMatMul.apply(s, t).tanh(), x, W)
    err = info.value
    i, j = err.element
    assert err.argument == 1 and err.op == "TransposedMatMul" and i != j  # the diagonal is right
    assert abs(err.analytic - err.numeric) > 1e-3 * max(abs(err.analytic), abs(err.numeric))


def test_a_backward_right_only_at_the_starting_point_is_caught_next_to_it():
    x = np.random.default_rng(5).standard_normal(50)
    assert gradcheck(lambda t: (t * 2.0).tanh(), x)
    op = stale_tanh()  # its cache is filled by the first backward, which gradcheck runs at x
    with pytest.raises(GradcheckError, match="right at the point given only") as info:
        gradcheck(lambda t: op.apply(t * 2.0), x)
    err = info.value
    assert err.where == "x + h d" and err.op == "StaleTanh"
    # the dense check differentiates around x with backward run at x only: it cannot see this
    assert gradcheck(lambda t: stale_tanh().apply(t * 2.0), x, full=True)


class SpoiledAffine(Affine):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads[0][7, 9] *= 1.01
        return dx


class TransposedAffine(Affine):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads[0][...] = self.grads[0].T.copy()
        return dx


class StaleAffine(Affine):
    """Keeps the x of its first forward for every later backward."""

    def forward(self, x):
        if not hasattr(self, "x"):
            self.x = x
        W, b = self.params
        return x @ W + b


def _affine(n, rng, cls=Affine):
    return cls(rng.standard_normal((n, n)) / np.sqrt(n), rng.standard_normal(n))


def test_a_1024_by_1024_affine_passes_and_a_spoiled_dW_element_is_named():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((16, 1024))
    assert check_layer(_affine(1024, np.random.default_rng(1)), x)
    with pytest.raises(GradcheckError, match=r"params\[0\] of shape \(1024, 1024\): dW\[7, 9\] is wrong") as info:
        check_layer(_affine(1024, np.random.default_rng(1), SpoiledAffine), x)
    err = info.value
    assert err.gradient == "dW[7, 9]" and err.element == (7, 9) and err.argument == "params[0]"
    assert err.analytic == pytest.approx(1.01 * err.numeric, rel=1e-6)


def test_a_layer_with_a_transposed_dW_or_a_stale_cache_is_named():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((4, 64))
    with pytest.raises(GradcheckError, match=r"dW\[\d+, \d+\] is wrong") as info:
        check_layer(_affine(64, np.random.default_rng(2), TransposedAffine), x)
    i, j = info.value.element
    assert i != j
    with pytest.raises(GradcheckError, match=r"dW\[\d+, \d+\] is wrong.*\n.*\n.*right at the point given only"):
        check_layer(_affine(64, np.random.default_rng(2), StaleAffine), x)


def _line(text):
    return next(i for i, s in enumerate(open(__file__).read().splitlines(), 1) if text in s and "def " not in s)


# ---- the probability the guarantee states, measured -------------------------------------------


class _Linear:
    """y = A x with a backward whose Jacobian entry (0, k) is off by delta: a directional.Subject."""

    def __init__(self, A, k, delta):
        self.A, self.k, self.delta = A, k, delta
        self.x = np.random.default_rng(0).standard_normal(A.shape[1])

    def subject(self):
        def vjp(v):
            w = self.A.T @ v
            w[self.k] += self.delta * v[0]
            return [w]

        step = directional.Target(self.x, np.full(self.x.size, 6e-6), "x")
        return directional.Subject([step], lambda: self.A @ self.x, vjp, np.finfo(np.float64).eps, 1e-5)


def test_one_direction_misses_an_error_of_c_tolerances_with_probability_below_1_6_over_c():
    A = np.random.default_rng(1).standard_normal((20, 200))
    k, c, trials, misses = 17, 8.0, 400, 0
    for seed in range(trials):
        tau = directional.screen(_Linear(A, k, 0.0).subject(), 1, seed).rounds[0].base.tau
        delta = c * tau / 6e-6  # the wrong entry, times the step, is c tolerances
        misses += directional.screen(_Linear(A, k, delta).subject(), 1, seed).ok
    # |<e, d>| = delta h |u_k| with u_k Gaussian: below 2 tau with probability <= sqrt(2/pi) 2 / c
    assert misses / trials <= 1.6 / c
    assert misses > 0  # and the bound is not vacuous: small |u_k| does miss now and then
