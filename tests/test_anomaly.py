"""ta.detect_anomaly(): the first NaN/Inf names the op, the phase and the user's file:line."""

import inspect
import os
import warnings

import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import Tensor

HERE = os.path.basename(__file__)


def _line_of_next_statement():
    return inspect.currentframe().f_back.f_lineno + 1


def test_forward_nan_names_op_phase_and_user_line():
    x = Tensor(np.array([1.0, -1.0]), requires_grad=True)
    with ta.detect_anomaly():
        with pytest.raises(FloatingPointError) as info:
            line = _line_of_next_statement()
            x.log()
    msg = str(info.value)
    assert "Log" in msg and "forward" in msg and "NaN" in msg
    assert f"{HERE}:{line}" in msg


def test_forward_inf_from_overflow():
    x = Tensor(np.array([1000.0]), requires_grad=True)
    with ta.detect_anomaly(), pytest.raises(FloatingPointError, match="Exp.*forward.*Inf"):
        x.exp()


def test_forward_anomaly_on_tensors_that_do_not_require_grad():
    x = Tensor(np.array([1000.0]))
    with ta.detect_anomaly(), pytest.raises(FloatingPointError, match="Exp.*forward.*Inf"):
        x.exp()


def test_backward_inf_names_op_phase_and_the_line_that_created_it():
    x = Tensor(np.array([0.0, 4.0]), requires_grad=True)
    with ta.detect_anomaly():
        line = _line_of_next_statement()
        y = x.sqrt()  # forward is fine: sqrt(0) = 0; backward 0.5 / 0 is Inf
        loss = (y * 2).sum()
        with pytest.raises(FloatingPointError) as info:
            loss.backward()
    msg = str(info.value)
    assert "Sqrt" in msg and "backward" in msg and "Inf" in msg
    assert f"{HERE}:{line}" in msg


def test_backward_nan_in_a_deeper_graph():
    x = Tensor(np.array([2.0, 3.0]), requires_grad=True)
    with ta.detect_anomaly():
        h = (x - 2.0).abs()  # 0 at x = 2
        line = _line_of_next_statement()
        y = h.sqrt() * 0.0  # forward finite; backward of sqrt at 0: 0 * inf = NaN
        with pytest.raises(FloatingPointError) as info:
            y.sum().backward()
    assert "Sqrt" in str(info.value) and "backward" in str(info.value)
    assert f"{HERE}:{line}" in str(info.value)


def test_without_anomaly_mode_nan_passes_silently():
    x = Tensor(np.array([-1.0]), requires_grad=True)
    with np.errstate(invalid="ignore"):
        y = x.log()
        y.sum().backward()
    assert np.isnan(y.data).all()


def test_anomaly_mode_is_restored_after_the_block_even_on_error():
    with pytest.raises(FloatingPointError), ta.detect_anomaly():
        Tensor(np.array([-1.0]), requires_grad=True).log()
    with np.errstate(invalid="ignore"):
        assert np.isnan(Tensor(np.array([-1.0]), requires_grad=True).log().data).all()


def test_finite_graph_runs_unchanged_in_anomaly_mode():
    x = Tensor(np.array([0.5, 1.5]), requires_grad=True)
    with ta.detect_anomaly():
        loss = (x.tanh() * x.exp()).sum()
        loss.backward()
    np.testing.assert_allclose(
        x.grad.data, (1 - np.tanh(x.data) ** 2) * np.exp(x.data) + np.tanh(x.data) * np.exp(x.data)
    )


@pytest.fixture(autouse=True)
def _quiet_numpy():
    # the NaN/Inf these tests make on purpose would otherwise print RuntimeWarnings
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield
