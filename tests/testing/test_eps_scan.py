"""eps_scan: round-off at small steps, truncation at large ones, the automatic step near the bottom."""

import numpy as np
import pytest

from tinygrad_attn.testing import eps_scan, step_for, tolerances_for


def _f(t):
    return (t.tanh() * t).exp()


X = np.array([0.3, -0.8, 1.2])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_error_is_v_shaped_with_the_automatic_step_near_its_bottom(dtype):
    s = eps_scan(_f, X.astype(dtype))
    assert s.dtype == np.dtype(dtype) and s.auto_step == step_for(dtype)
    at_auto = s.errors[np.argmin(np.abs(np.log(s.steps / s.auto_step)))]
    assert s.errors[0] > 100 * at_auto  # round-off dominates the smallest step
    assert s.errors[-1] > 100 * s.errors.min()  # truncation dominates the largest
    assert 0.01 < s.best_step / s.auto_step < 100  # the rule eps^(1/3) lands within two decades of the best
    atol, rtol = tolerances_for(dtype)
    assert at_auto < rtol  # and its error is well inside gradcheck's tolerance


def test_truncation_error_falls_like_h_squared():
    s = eps_scan(_f, X, steps=[1e-2, 1e-3])
    assert s.errors[0] / s.errors[1] == pytest.approx(100, rel=0.05)


def test_bad_arguments():
    with pytest.raises(TypeError, match="no floating-point input"):
        eps_scan(lambda i: i * 1.0, np.array([1, 2]))
    with pytest.raises(ValueError, match="positive"):
        eps_scan(_f, X, steps=[1e-3, -1e-3])
