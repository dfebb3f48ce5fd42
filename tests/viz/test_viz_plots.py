"""Plots (files written, sane axes) and the analysis they draw (Jacobians computed with the engine)."""

import numpy as np
import pytest

from tinygrad_attn.commands import analysis
from viz import plots


def test_gradient_norm_plot(tmp_path):
    runs = {"a": np.logspace(-6, 0, 10), "b": np.array([1.0, np.nan, 0.0, 2.0])}
    fig = plots.gradient_norms(runs, tmp_path / "g.png")
    ax = fig.axes[0]
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "time step t"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    assert len(ax.lines[1].get_xdata()) == 2  # NaN and 0 skipped on a log axis
    lo, hi = ax.get_ylim()
    assert lo <= 1e-6 and hi >= 2.0


def test_jacobian_spectra_plot(tmp_path):
    spectra = {"rho=0.5": analysis.tanh_rnn_spectra(T=6, H=4, radius=0.5)}
    fig = plots.jacobian_spectra(spectra, tmp_path / "s.svg")
    assert "<svg" in (tmp_path / "s.svg").read_text()
    assert len(fig.axes) == 2 and all(a.get_yscale() == "log" for a in fig.axes)


def test_attention_heatmap_has_token_ticks(tmp_path):
    w = np.random.default_rng(0).dirichlet(np.ones(4), size=3)[None]  # (1, 3, 4)
    fig = plots.attention_heatmap(w, ["le", "chat", "</s>"], ["the", "cat", "sat", "<eos>"], tmp_path / "a.png")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["the", "cat", "sat", "<eos>"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["le", "chat", "</s>"]
    with pytest.raises(ValueError, match="2 query and 4 key tokens"):
        plots.attention_heatmap(w, ["a", "b"], list("abcd"), tmp_path / "x.png")


def test_training_curves_one_run_and_several(tmp_path):
    fig = plots.training_curves({"loss": [2.0, 1.0, 0.5], "accuracy": [0.2, 0.6, 0.9]}, tmp_path / "t.png")
    assert len(fig.axes) == 2 and fig.axes[1].get_ylim()[1] == pytest.approx(1.02)
    assert fig.axes[0].get_xlabel() == "epoch"
    runs = {"rnn": {"loss": [2.0, 1.5], "val_loss": [2.1, 1.7]}, "lstm": {"loss": [2.0, 1.0]}}
    fig = plots.training_curves(runs, tmp_path / "t2.png")
    assert len(fig.axes) == 1
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["rnn loss", "rnn val_loss", "lstm loss"]


def test_accuracy_by_seed_one_panel_per_group(tmp_path):
    groups = {"book": [[0.1, 0.5, 0.9], [0.2, 0.6, 0.95]], "ours": [[0.1, 0.4, 0.97]], "empty": []}
    fig = plots.accuracy_by_seed(groups, tmp_path / "s.png", target=0.97, first_epoch=2)
    assert (tmp_path / "s.png").stat().st_size > 0
    assert [ax.get_title() for ax in fig.axes] == ["book", "ours"]  # an empty group is left out
    book = fig.axes[0]
    assert [list(line.get_xdata()) for line in book.get_lines()[:2]] == [[2, 3], [2, 3]]
    assert list(book.get_lines()[1].get_ydata()) == pytest.approx([60.0, 95.0])
    assert book.get_ylim()[0] == pytest.approx(39.0)  # lowest shown accuracy (40 %) minus a point
    assert any(list(line.get_ydata()) == [97.0, 97.0] for line in book.get_lines())  # the target line
    assert [t.get_text() for t in fig.axes[1].get_legend().get_texts()] == ["seed 0"]
    fig = plots.accuracy_by_seed(groups, tmp_path / "s.svg", ymin=50)
    assert fig.axes[0].get_ylim() == pytest.approx((50, 100.5))
    with pytest.raises(ValueError, match="accuracy_by_seed: no runs"):
        plots.accuracy_by_seed({"a": []}, tmp_path / "x.png")


def test_step_jacobian_matches_the_formula():
    rng = np.random.default_rng(1)
    W_h, W_x, xs = rng.standard_normal((4, 4)), rng.standard_normal((3, 4)), rng.standard_normal((5, 3))
    Js = analysis.rnn_step_jacobians(W_h, W_x, np.zeros(4), xs)
    h = np.zeros((1, 4))
    for J, x in zip(Js, xs):
        h = np.tanh(h @ W_h + x @ W_x)
        np.testing.assert_allclose(J, (1 - h[0] ** 2)[:, None] * W_h.T, atol=1e-12)


def test_spectra_products_match_gradient_norms_direction():
    per_step, product = analysis.tanh_rnn_spectra(T=12, H=6, radius=0.5)
    assert per_step.shape == product.shape == (12,)
    assert product[0] < product[-1] < 1  # vanishing: the product shrinks going back
    loss, hs, _ = analysis.unroll_tanh_rnn(T=12, H=6, radius=0.5)
    loss.backward(retain_grad=True)
    norms = analysis.gradient_norms(hs)
    assert norms[0] <= product[1] * norms[-1] * (1 + 1e-9)  # ||g_1|| <= sigma(dh_T/dh_1) ||g_T||


def test_lstm_unroll_and_clip_hook():
    loss, hs, p = analysis.unroll_lstm(T=6, H=4, forget_bias=3.0)
    loss.backward(retain_grad=True)
    norms = analysis.gradient_norms(hs)
    assert np.all(np.isfinite(norms)) and len(p["cs"]) == 6 and p["W_h"].grad.shape == (4, 16)
    per_step, product = analysis.lstm_spectra(T=6, H=4, forget_bias=3.0)
    assert per_step.shape == (6,)
    loss, hs, _ = analysis.unroll_tanh_rnn(T=8, H=4, radius=2.0, clip=0.5)
    loss.backward(retain_grad=True)
    assert np.all(analysis.gradient_norms(hs) <= 0.5 + 1e-12)


def test_eps_scan_plot_marks_each_dtypes_automatic_step(tmp_path):
    from tinygrad_attn.testing import eps_scan

    x = np.array([0.3, -0.8, 1.2])
    scans = {"f64": eps_scan(lambda t: t.tanh(), x), "f32": eps_scan(lambda t: t.tanh(), x.astype(np.float32))}
    fig = plots.eps_scan_plot(scans, tmp_path / "eps.png")
    ax = fig.axes[0]
    assert (tmp_path / "eps.png").read_bytes()[:4] == b"\x89PNG"
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:2] == ["f64 (float64)", "f32 (float32)"] and any("float32" in t and "round-off" in t for t in labels)
    marks = sorted(line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == ":")
    assert marks == pytest.approx(sorted(s.auto_step for s in scans.values()))
