"""check_layer and check_vjp on hand-written layers: the example's layers pass, wrong rules are named."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given

from tinygrad_attn.testing import GradcheckError, check_layer, check_vjp
from tinygrad_attn.testing import strategies as tst

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "check_handwritten_layers.py"
_spec = importlib.util.spec_from_file_location("check_handwritten_layers", EXAMPLE)
ex = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ex)


def _draw(dims, seed=0):
    rng = np.random.default_rng(seed)
    N, T, D, H = dims.N, dims.T, dims.D, dims.H
    return rng, rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, T, H))


@given(tst.layer_dims())
def test_the_examples_layers_pass_at_any_size(dims):
    rng, x, h, hs = _draw(dims)
    D, H = dims.D, dims.H
    assert check_layer(ex.Affine(rng.standard_normal((D, H)), rng.standard_normal(H)), x)
    assert check_layer(ex.RNNCell(rng.standard_normal((D, H)), rng.standard_normal((H, H)), np.zeros(H)), x, h)
    assert check_layer(ex.Attention(), hs, h)


@given(tst.layer_dims())
def test_a_wrong_db_is_caught_exactly_when_the_batch_has_more_than_one_row(dims):
    rng, x, _, _ = _draw(dims)
    layer = ex.WrongBiasAffine(rng.standard_normal((dims.D, dims.H)), rng.standard_normal(dims.H))
    if dims.N == 1:  # mean and sum of one row agree
        assert check_layer(layer, x)
    else:
        with pytest.raises(GradcheckError, match=r"params\[1\] of shape") as info:
            check_layer(layer, x)
        err = info.value
        # the raw derivative d out[n, j] / d b[j]: 1/N by the mean, 1 truly
        _, (n, j) = err.output
        assert err.argument == "params[1]" and err.element == (j,)
        assert err.analytic == pytest.approx(1 / dims.N) and err.numeric == pytest.approx(1.0, rel=1e-6)
        assert f"d out[{n}, {j}] / d params[1][{j}] = {1 / dims.N:.8g} by backward but" in str(err)
        a, b = err.projected  # and the projection on the random dout, for the record
        assert a == pytest.approx(b / dims.N, rel=1e-5)


def test_the_example_runs_and_prints_the_failure():
    run = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, check=True)
    assert "Attention: True" in run.stdout and "RNNCell in float32: True" in run.stdout
    assert "WrongBiasAffine fails as it should" in run.stdout and "params[1] of shape (5,)" in run.stdout


class Embedding:
    """W[idx]: idx (N,) integer token ids are constants; only params[0] gets a gradient."""

    def __init__(self, W):
        self.params, self.grads = [W], [np.zeros_like(W)]

    def forward(self, idx):
        self.idx = idx
        return self.params[0][idx]

    def backward(self, dout):
        np.add.at(self.grads[0], self.idx, dout)  # adds: check_layer zeroes grads first
        return None


def test_integer_inputs_are_constants_and_repeated_ids_add_up():
    W = np.random.default_rng(1).standard_normal((4, 3))
    assert check_layer(Embedding(W), np.array([0, 2, 2, 3]))


class Float32Tanh:
    """Writes into a float32 buffer although its weight is float64 (like the book's Time* layers)."""

    def __init__(self, W):
        self.params, self.grads = [W], [np.zeros_like(W)]

    def forward(self, x):
        self.y = np.empty((x.shape[0], self.params[0].shape[1]), dtype=np.float32)
        self.y[...] = np.tanh(x @ self.params[0])
        self.x = x
        return self.y

    def backward(self, dout):
        dt = dout * (1 - self.y.astype(np.float64) ** 2)
        self.grads[0][...] = self.x.T @ dt
        return dt @ self.params[0].T


def test_step_and_tolerance_follow_the_output_dtype():
    rng = np.random.default_rng(2)
    x, W = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)) * 0.5
    assert check_layer(Float32Tanh(W), x)
    # float64's step is far too small for float32 outputs: round-off swamps the difference
    with pytest.raises(GradcheckError, match="float32"):
        check_layer(Float32Tanh(W), x, eps=1e-7)


def test_check_vjp_names_the_wrong_input():
    def fwd(x, w):
        return x * w

    def bwd(dout, x, w):
        return dout * w, dout * w  # dw should be dout * x

    x, w = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    assert check_vjp(fwd, lambda d, x, w: (d * w, d * x), x, w, cache=False)
    with pytest.raises(GradcheckError, match="fwd: input 1 of shape") as info:
        check_vjp(fwd, bwd, x, w, cache=False)
    err = info.value
    # d out[1] / d w[1] = x[1] = 2, but the wrong rule says w[1] = -1
    assert err.input_index == 1 and err.output == (0, (1,)) and err.element == (1,)
    assert (err.analytic, err.numeric) == (-1.0, pytest.approx(2.0)) and "d out[1] / d x1[1] = -1 by backward" in str(
        err
    )


class TwoOutputs:
    """(x W, tanh(x) W): two outputs, so backward gets one dout per output; d tanh is wrong (1 - y, not 1 - y^2)."""

    def __init__(self, W):
        self.params, self.grads = [W], [np.zeros_like(W)]

    def forward(self, x):
        self.x, self.t = x, np.tanh(x)
        return x @ self.params[0], self.t @ self.params[0]

    def backward(self, d1, d2):
        W = self.params[0]
        self.grads[0][...] = self.x.T @ d1 + self.t.T @ d2
        return d1 @ W.T + (d2 @ W.T) * (1 - self.t)


def test_several_outputs_get_one_hot_douts_for_the_raw_derivative():
    rng = np.random.default_rng(4)
    x, W = rng.standard_normal((2, 3)), rng.standard_normal((3, 2))
    with pytest.raises(GradcheckError, match=r"input 0 of shape \(2, 3\): d out1\[") as info:
        check_layer(TwoOutputs(W), x)
    err = info.value
    k, (n, j) = err.output
    t = np.tanh(x[err.element])
    assert k == 1 and n == err.element[0]
    assert err.analytic == pytest.approx(W[err.element[1], j] * (1 - t))
    assert err.numeric == pytest.approx(W[err.element[1], j] * (1 - t**2), rel=1e-6)


def test_the_dense_check_of_a_large_layer_is_reported_by_its_projection():
    layer = ex.WrongBiasAffine(np.ones((2, 3)), np.zeros(3))
    with pytest.raises(
        GradcheckError, match=r"params\[1\] of shape \(3,\): worst element \[\d\]: backward gives"
    ) as info:
        check_layer(layer, np.ones((500, 2)), full=True)  # 1500 outputs: no Jacobian
    assert info.value.output is None and info.value.analytic == info.value.projected[0]


def test_the_fast_check_of_a_large_layer_names_the_element_in_the_layers_words():
    layer = ex.WrongBiasAffine(np.ones((2, 3)), np.zeros(3))
    with pytest.raises(GradcheckError, match=r"params\[1\] of shape \(3,\): db\[\d\] is wrong: d out\[") as info:
        check_layer(layer, np.ones((500, 2)))  # 1500 outputs: found by halving, no Jacobian
    err = info.value
    (j,) = err.element
    # d out[n, j] / d b[j]: 1/500 by the mean, 1 truly
    assert err.gradient == f"db[{j}]" and err.output[1][1] == j and err.argument == "params[1]"
    assert err.analytic == pytest.approx(1 / 500) and err.numeric == pytest.approx(1.0, rel=1e-7)


def test_check_vjp_with_a_cache():
    rng = np.random.default_rng(3)
    assert check_vjp(ex.affine_forward, ex.affine_backward, *[rng.standard_normal(s) for s in [(2, 3), (3, 4), (4,)]])
    with pytest.raises(TypeError, match=r"\(out, cache\)"):
        check_vjp(lambda x: x * 2, lambda d, c: d * 2, np.ones(2))


class _Bad:
    def __init__(self, params, grads, out, dx):
        self.params, self.grads, self.out, self.dx = params, grads, out, dx

    def forward(self, x):
        return self.out(x)

    def backward(self, dout):
        return self.dx


@pytest.mark.parametrize(
    "layer, match",
    [
        (_Bad([np.ones(2)], [], lambda x: x, None), "1 params but 0 grads"),
        (_Bad([np.ones(2)], [np.ones(3)], lambda x: x, None), r"params\[0\] has shape \(2,\) but grads\[0\]"),
        (_Bad([], [], lambda x: list(x), None), "forward must return float arrays"),
        (_Bad([], [], lambda x: x, (np.ones(2), np.ones(2))), "returned 2 input gradients for 1 inputs"),
        (_Bad([], [], lambda x: x, np.ones(3)), r"gradient of shape \(3,\) for input 0 of shape \(2,\)"),
        (_Bad([], [], lambda x: x, None), "returned 0 input gradients"),
    ],
)
def test_malformed_layers_get_a_clear_error(layer, match):
    with pytest.raises((ValueError, TypeError, GradcheckError), match=match):
        check_layer(layer, np.ones(2))


def test_a_layer_that_rebinds_its_grads_is_told_so():
    class RebindingAffine:
        def __init__(self, W, b):
            self.params, self.grads = [W, b], [np.zeros_like(W), np.zeros_like(b)]

        def forward(self, x):
            self.x = x
            return x @ self.params[0] + self.params[1]

        def backward(self, dout):
            self.grads[0] = self.x.T @ dout  # a new array: the optimizer's reference keeps the old one
            self.grads[1][...] = dout.sum(axis=0)
            return dout @ self.params[0].T

    rng = np.random.default_rng(0)
    layer = RebindingAffine(rng.standard_normal((3, 2)), rng.standard_normal(2))
    with pytest.raises(GradcheckError, match=r"rebinds self\.grads\[0\] to a new array instead of writing into"):
        check_layer(layer, rng.standard_normal((4, 3)))
