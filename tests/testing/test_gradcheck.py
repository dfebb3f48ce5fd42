"""gradcheck and vjp_check pass on correct ops, catch wrong ones, and say where in raw numbers."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tinygrad_attn import Tensor
from tinygrad_attn.autograd import Function
from tinygrad_attn.testing import GradcheckError, gradcheck, vjp_check


class WrongSquare(Function):
    """x^2 with a backward that forgets the factor 2."""

    def forward(self, x):
        return x * x

    def backward(self, g, ins, out):
        return g * ins[0]


class WrongOnSecondInput(Function):
    """a * b with d/db wrong by a sign."""

    def forward(self, a, b):
        return a * b

    def backward(self, g, ins, out):
        a, b = ins
        return g * b, -g * a


class WrongSoftplus(Function):
    """log(1 + e^x) with backward g * out, where it should be g * sigmoid(x) (the issue's example)."""

    def forward(self, x):
        return np.log1p(np.exp(x))

    def backward(self, g, ins, out):
        return g * out


class FrozenSquare(Function):
    """x^2 whose first derivative is right but computed from constants, so no second derivative flows."""

    def forward(self, x):
        return x * x

    def backward(self, g, ins, out):
        x = ins[0]
        return g * (2 * np.asarray(x.data if isinstance(x, Tensor) else x))


class ArraySquare(Function):
    """x^2 whose backward returns a plain ndarray even when handed Tensors (drops the graph)."""

    def forward(self, x):
        return x * x

    def backward(self, g, ins, out):
        def arr(a):
            return a.data if isinstance(a, Tensor) else a

        return arr(g) * 2 * arr(ins[0])


def test_gradcheck_passes_on_correct_ops():
    x = np.array([[0.3, -1.2], [2.0, 0.7]])
    assert gradcheck(lambda t: (t.tanh() * t).sum(axis=1), x) is True


def test_the_message_gives_raw_derivatives_not_projections():
    # softplus'(0) = sigmoid(0) = 0.5; the wrong rule gives softplus(0) = log 2
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda t: WrongSoftplus.apply(t), np.zeros(3))
    err = info.value
    assert err.analytic == pytest.approx(np.log(2)) and err.numeric == pytest.approx(0.5, abs=1e-8)
    assert "0.69314718 by backward but 0.5 by central differences" in str(err)
    assert err.projected is not None and err.projected != (err.analytic, err.numeric)


def test_the_worst_raw_element_is_reported():
    x = np.array([[0.5, -1.0, 2.0], [3.0, -0.25, 1.5]])
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda t: WrongSquare.apply(t), x)
    err = info.value
    # d out[j] / d x[j]: x_j by the wrong rule, 2 x_j truly: largest miss at the largest |x|
    assert err.element == (1, 0) and err.output == (0, (1, 0))
    assert err.analytic == pytest.approx(3.0) and err.numeric == pytest.approx(6.0, rel=1e-7)
    assert "input 0 of shape (2, 3): d out[1, 0] / d x0[1, 0] = 3 by backward but 6" in str(err)


def test_several_outputs_are_named():
    with pytest.raises(GradcheckError, match=r"d out1\[1\] / d x0\[1\]"):
        gradcheck(lambda t: (t.exp(), WrongSquare.apply(t)), np.array([0.5, 2.0]))


def _three_deep(t):
    h = t.tanh() * 2.0
    s = WrongSoftplus.apply(h)  # THE WRONG NODE
    return (s * s).sum(axis=0).exp()


def test_a_wrong_op_three_nodes_deep_is_named_with_the_line_that_made_it():
    x = np.array([[0.2, -0.4], [0.9, 0.1], [-0.3, 0.5]])
    with pytest.raises(GradcheckError) as info:
        gradcheck(_three_deep, x)
    err = info.value
    line = next(i for i, s in enumerate(open(__file__).read().splitlines(), 1) if "THE WRONG NODE" in s)
    assert err.op == "WrongSoftplus" and err.input_index == 0 and err.argument == 0
    assert err.site.endswith(f"test_gradcheck.py:{line}")
    assert f"WrongSoftplus created at {err.site}" in str(err)


def test_gradcheck_names_the_input_that_is_wrong():
    a, b = np.array([1.0, 2.0]), np.array([3.0, -4.0])
    with pytest.raises(GradcheckError, match="input 1") as info:
        gradcheck(lambda x, y: WrongOnSecondInput.apply(x, y), a, b)
    assert info.value.input_index == 1 and info.value.argument == 1 and info.value.op == "WrongOnSecondInput"


def test_the_dense_check_of_a_large_input_falls_back_to_the_projection():
    x = np.linspace(-1, 1, 500)
    with pytest.raises(GradcheckError, match="projected gradient") as info:
        gradcheck(lambda t: WrongSquare.apply(t), x, localize=False, full=True)
    assert info.value.op is None and info.value.output is None


def test_the_fast_check_of_a_large_input_still_gives_raw_derivatives():
    x = np.linspace(-1, 1, 500)
    with pytest.raises(GradcheckError, match=r"halving the coordinates \(\d+ probes\)") as info:
        gradcheck(lambda t: WrongSquare.apply(t), x)
    err = info.value
    (k,) = err.element
    # d out[k] / d x[k]: x_k by the wrong rule, 2 x_k truly; the op and its line are named too
    assert err.output == (0, (k,)) and err.analytic == pytest.approx(x[k])
    assert err.numeric == pytest.approx(2 * x[k], rel=1e-7) and err.op == "WrongSquare"
    assert f"d out[{k}] / d x0[{k}] = {x[k]:.8g} by backward" in str(err)


def test_gradcheck_report_includes_a_tensor_name():
    x = Tensor(np.array([1.0, 2.0]), name="weights")
    with pytest.raises(GradcheckError, match=r"input 0 \(weights\)"):
        gradcheck(lambda t: WrongSquare.apply(t), x)


def test_gradcheck_rejects_a_function_with_no_dependence_on_inputs():
    with pytest.raises(GradcheckError, match="does not depend"):
        gradcheck(lambda t: Tensor(np.ones(2)), np.ones(2))


def test_gradcheck_rejects_a_non_tensor_output():
    with pytest.raises(TypeError, match="gradcheck"):
        gradcheck(lambda t: t.data * 2, np.ones(2))


def test_gradcheck_rejects_a_bad_step_and_dtype():
    with pytest.raises(ValueError, match="eps must be > 0"):
        gradcheck(lambda t: t.tanh(), np.ones(2), eps=0.0)
    with pytest.raises(TypeError, match="int64"):
        gradcheck(lambda t: t.tanh(), np.ones(2), dtype=np.int64)


def test_gradcheck_handles_tuple_outputs_and_integer_inputs():
    idx = np.array([2, 0, 2])
    assert gradcheck(lambda w, i: (w[i], w.exp()), np.array([0.1, 0.2, 0.3]), idx)


def test_gradcheck_runs_in_the_dtype_asked_for():
    seen = []

    def f(t):
        seen.append(t.dtype)
        return (t.tanh() * t).sum()

    assert gradcheck(f, np.array([0.5, -0.5], dtype=np.float32))
    assert set(seen) == {np.dtype(np.float64)}
    seen.clear()
    # float32 with its own step (4.9e-3) and tolerances passes on a correct op and still catches a wrong one
    assert gradcheck(f, np.array([0.5, -0.5, 1.7]), dtype=np.float32)
    assert set(seen) == {np.dtype(np.float32)}
    with pytest.raises(GradcheckError):
        gradcheck(lambda t: WrongSquare.apply(t), np.array([0.5, 1.5]), dtype=np.float32)


def test_vjp_check_first_order_catches_a_wrong_backward():
    with pytest.raises(GradcheckError, match="order 1") as info:
        vjp_check(lambda t: WrongSquare.apply(t), np.array([0.5, 1.5]), order=2)
    assert info.value.order == 1


def test_vjp_check_reports_the_order_that_failed_and_why():
    x = np.array([0.5, -1.5, 2.0])
    assert vjp_check(lambda t: FrozenSquare.apply(t), x, order=1)  # first order is right
    with pytest.raises(GradcheckError, match=r"order 2\).*\n.*has no graph") as info:
        vjp_check(lambda t: FrozenSquare.apply(t), x, order=2)
    assert info.value.order == 2
    assert vjp_check(lambda t: t * t, x, order=2)


def test_vjp_check_names_a_backward_that_returns_arrays_under_create_graph():
    # the engine refuses it at once (TypeError); gradcheck's own probe says the same where it does not
    with pytest.raises((TypeError, GradcheckError), match=r"ArraySquare.{0,20} returned an? ndarray for input 0"):
        vjp_check(lambda t: ArraySquare.apply(t), np.array([0.5, 1.5]), order=2)


def test_vjp_check_rejects_order_zero():
    with pytest.raises(ValueError, match="order"):
        vjp_check(lambda t: t, np.ones(2), order=0)


def test_pytest_shows_a_short_traceback_without_gradchecks_frames(tmp_path):
    test = tmp_path / "test_user_op.py"
    test.write_text(
        textwrap.dedent(
            """
            import numpy as np
            from tinygrad_attn.testing import gradcheck
            from tinygrad_attn.testing.broken import WrongTanh

            def test_wrong_tanh():
                gradcheck(lambda t: WrongTanh.apply(t), np.array([0.5, -1.0]))
            """
        )
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    out = run.stdout
    assert run.returncode == 1 and "GradcheckError" in out
    assert "gradcheck.py" not in out and "def gradcheck" not in out
    failure = out[out.index("_ test_wrong_tanh _") : out.index("short test summary")]
    assert len(failure.splitlines()) < 20, failure
