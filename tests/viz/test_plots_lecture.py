"""The plots the lecture adds to viz.plots: they draw what they are given and refuse mismatched labels."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from viz import plots  # noqa: E402


def test_gradient_by_token_puts_the_words_on_the_axis(tmp_path):
    fig = plots.gradient_by_token({"a": [1e-3, 1e-1, 1.0]}, ["Tom", "said", "to"], tmp_path / "g.png")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Tom", "said", "to"]
    assert ax.get_yscale() == "log"
    with pytest.raises(ValueError, match="3 tokens"):
        plots.gradient_by_token({"a": [1.0, 2.0]}, ["Tom", "said", "to"], tmp_path / "h.png")


def test_gain_and_product_plots_ratios(tmp_path):
    fig = plots.gain_and_product({"x": [1.0, 2.0, 4.0]}, tmp_path / "g.png")
    left, right = fig.axes[:2]
    np.testing.assert_allclose(left.lines[0].get_ydata(), [2.0, 2.0])
    np.testing.assert_allclose(right.lines[0].get_ydata(), [1.0, 2.0, 4.0])


def test_states_and_context_repeats_the_last_state(tmp_path):
    s = np.arange(12.0).reshape(3, 4)
    fig = plots.states_and_context(s, list("abc"), tmp_path / "s.png")
    np.testing.assert_array_equal(fig.axes[1].images[0].get_array(), s[-1:])
    with pytest.raises(ValueError, match="2 tokens"):
        plots.states_and_context(s, list("ab"), tmp_path / "t.png")


def test_attention_grid_checks_labels(tmp_path):
    m = {"weights": np.eye(2), "rows": "ab", "cols": "cd", "title": "t"}
    fig = plots.attention_grid([m, m, m], tmp_path / "a.png", ncols=2)
    assert sum(ax.axison for ax in fig.axes) == 3 + 1  # three maps and the colour bar, the fourth cell off
    with pytest.raises(ValueError, match="3 columns"):
        plots.attention_grid([{**m, "cols": "cde"}], tmp_path / "b.png")
    with pytest.raises(ValueError, match="no maps"):
        plots.attention_grid([], tmp_path / "c.png")


def test_function_and_derivative(tmp_path):
    x = np.linspace(-2, 2, 5)
    fig = plots.function_and_derivative(x, np.tanh(x), 1 - np.tanh(x) ** 2, tmp_path / "f.png")
    np.testing.assert_allclose(fig.axes[0].lines[1].get_ydata(), 1 - np.tanh(x) ** 2)
