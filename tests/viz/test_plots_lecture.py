"""The lecture's plots, diagrams, fonts and the SVG text measure: they draw what they are given, keep text as
text, and refuse mismatched labels."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from viz import colors, diagram, fonts, plots, svg_text  # noqa: E402
from viz.diagram import Edge, Frame, Node  # noqa: E402


def test_gradient_by_token_puts_the_words_on_the_axis(tmp_path):
    fig = plots.gradient_by_token({"a": [1e-3, 1e-1, 1.0]}, ["Tom", "said", "to"], tmp_path / "g.png")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Tom", "said", "to"]
    assert ax.get_yscale() == "log"
    with pytest.raises(ValueError, match="3 tokens"):
        plots.gradient_by_token({"a": [1.0, 2.0]}, ["Tom", "said", "to"], tmp_path / "h.png")


def test_tokens_by_gradient_colours_each_word_by_its_norm(tmp_path):
    fig = plots.tokens_by_gradient({"run": [1e-4, 1e-2, 1.0]}, ["Tom", "said", "to"], tmp_path / "s.svg")
    ax = fig.axes[0]
    fills = {t.get_text(): p.get_facecolor() for t, p in zip(ax.texts[1:], ax.patches)}
    lo, hi = colors.nice_scale([-4.0, 0.0])
    for word, v in (("Tom", -4.0), ("said", -2.0), ("to", 0.0)):
        want = colors.grad_colour(v, lo, hi)
        got = "#" + "".join(f"{round(255 * c):02x}" for c in fills[word][:3])
        assert got == want, word
    words = [t.text for t in svg_text.texts((tmp_path / "s.svg").read_bytes())]
    assert {"Tom", "said", "to", "run"} <= set(words)  # real text in the SVG
    with pytest.raises(ValueError, match="3 tokens"):
        plots.tokens_by_gradient({"run": [1.0]}, ["Tom", "said", "to"], tmp_path / "t.png")


def test_gain_and_product_plots_ratios_and_the_radius(tmp_path):
    fig = plots.gain_and_product({"x": [1.0, 2.0, 4.0]}, tmp_path / "g.png", radii={"x": 2.0})
    left, right = fig.axes[:2]
    np.testing.assert_allclose(left.lines[0].get_ydata(), [2.0, 2.0])
    np.testing.assert_allclose(right.lines[0].get_ydata(), [1.0, 2.0, 4.0])
    np.testing.assert_allclose(right.lines[1].get_ydata(), [1.0, 2.0, 4.0])  # rho^k, dashed
    assert left.lines[1].get_ydata()[0] == 2.0  # rho, dashed


def test_overflow_marks_inf_nan_and_the_floor(tmp_path):
    norms = [1.0, 10.0, 100.0, np.inf, np.nan, np.nan]
    assert plots.first_bad(norms) == (3, 4, None)
    fig = plots.overflow({"up": norms, "down": [1.0, 1e-20, 1e-45, 1e-45]}, tmp_path / "o.svg", floor=1e-44)
    ax = fig.axes[0]
    notes = [t.get_text() for t in ax.texts]
    assert "inf from k = 3" in notes and "NaN from k = 4" in notes and "at the smallest number from k = 2" in notes
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [1.0, 10.0, 100.0])  # the finite part is the line


def test_states_and_contexts_repeats_each_last_state(tmp_path):
    s, t = np.arange(12.0).reshape(3, 4), -np.arange(8.0).reshape(2, 4)
    fig = plots.states_and_contexts(
        [{"states": s, "tokens": "abc", "title": "short"}, {"states": t, "tokens": "de", "title": "long"}],
        tmp_path / "s.png",
        accuracy={"by_length": {2: 0.5, 3: 1.0}},
    )
    np.testing.assert_array_equal(fig.axes[1].images[0].get_array(), s[-1:])
    np.testing.assert_array_equal(fig.axes[3].images[0].get_array(), t[-1:])
    assert [p.get_height() for p in fig.axes[4].patches] == [50.0, 100.0]
    with pytest.raises(ValueError, match="2 tokens"):
        plots.states_and_contexts([{"states": s, "tokens": "ab"}], tmp_path / "t.png")


def test_attention_grid_names_queries_and_keys(tmp_path):
    m = {"weights": np.eye(2), "rows": "ab", "cols": "cd", "title": "t", "query": "query", "key": "key"}
    fig = plots.attention_grid([m, m, m], tmp_path / "a.png", ncols=2, key_label="all keys", query_label="all q")
    assert sum(ax.axison for ax in fig.axes) == 3 + 1  # three maps and the colour bar, the fourth cell off
    assert fig.axes[0].get_ylabel() == "query" and fig.axes[1].get_ylabel() == ""  # said once per row
    assert fig.axes[0].get_xlabel() == "key" and fig.get_supxlabel() == "all keys"
    with pytest.raises(ValueError, match="3 columns"):
        plots.attention_grid([{**m, "cols": "cde"}], tmp_path / "b.png")
    with pytest.raises(ValueError, match="no maps"):
        plots.attention_grid([], tmp_path / "c.png")


def test_function_and_derivative(tmp_path):
    x = np.linspace(-2, 2, 5)
    fig = plots.function_and_derivative(x, np.tanh(x), 1 - np.tanh(x) ** 2, tmp_path / "f.png")
    np.testing.assert_allclose(fig.axes[0].lines[1].get_ydata(), 1 - np.tanh(x) ** 2)


def test_diagram_fills_nodes_by_their_gradient_and_keeps_text(tmp_path):
    nodes = [
        Node("a", 0, 0, "MatMul", 0.0),
        Node("b", 2, 0, "+", -1.0, "circle"),
        Node("x", 0, -1, "x_t", None, "leaf"),
    ]
    edges = [Edge("a", "b", r"$h_{t-1}W_h$"), Edge("x", "a")]
    fig = diagram.draw(nodes, edges, [tmp_path / "d.png", tmp_path / "d.svg"], scale=(-1.0, 0.0),
                       frames=[Frame(-1, -1.5, 3, 0.6, "t=1")])  # fmt: skip
    ax = fig.axes[0]
    fills = sorted(tuple(round(c, 3) for c in p.get_facecolor()[:3]) for p in ax.patches if p.get_fill())
    want = {colors.grad_colour(v, -1.0, 0.0) for v in (0.0, -1.0)} | {colors.PLAIN_FILL}
    got = {"#" + "".join(f"{round(255 * c):02x}" for c in f) for f in fills}
    assert want <= got
    words = {t.text for t in svg_text.texts((tmp_path / "d.svg").read_bytes())}
    assert {"MatMul", "+", "x_t", "t=1"} <= words and "h" in words  # mathtext glyphs are text too
    with pytest.raises(ValueError, match="names no node"):
        diagram.draw(nodes, [Edge("a", "nowhere")])
    with pytest.raises(ValueError, match="colorbar"):
        diagram.draw(nodes, edges, colorbar="left")


SVG_MPL = """<svg xmlns="http://www.w3.org/2000/svg" width="720pt" height="100pt" viewBox="0 0 720 100">
<g transform="translate(10 20)"><text style="font-size: 10px; font-family: 'DejaVu Sans'">plain</text></g>
<g transform="translate(10 40) scale(0.7)"><text><tspan style="font-size: 12px">sub</tspan></text></g></svg>"""
SVG_DOT = """<svg width="1800pt" height="100pt" viewBox="0.00 0.00 1800.00 100.00" xmlns="http://www.w3.org/2000/svg">
<g transform="scale(1 1) rotate(0) translate(4 96)"><text font-size="14.00">node</text>
<text font-size="8.00">edge</text></g></svg>"""


def test_svg_text_sizes_from_matplotlib_and_graphviz_svgs():
    found = {t.text: t.px for t in svg_text.texts(SVG_MPL, width=900)}
    assert found["plain"] == pytest.approx(10 * 900 / 720)
    assert found["sub"] == pytest.approx(12 * 0.7 * 900 / 720)  # the transform's scale counts
    assert svg_text.smallest(SVG_DOT, width=900).text == "edge"
    assert svg_text.smallest(SVG_DOT, width=900).px == pytest.approx(8 * 900 / 1800)
    with pytest.raises(ValueError, match="no <text>"):
        svg_text.smallest('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"/>')


def test_svg_text_of_a_real_graphviz_svg(tmp_path):
    import tinygrad_attn as ta
    import viz

    x = ta.Tensor(np.ones(3), requires_grad=True, name="x")
    svg = viz.draw((x.tanh() * 2).sum(), backward=True).pipe("svg")
    texts = svg_text.texts(svg)
    assert any(t.text == "x" for t in texts) and all(t.px > 0 for t in texts)


def test_fonts_for_korean_name_a_hangul_font_when_there_is_one():
    assert fonts.families("en") == ["DejaVu Sans"]
    ko = fonts.families("ko")
    assert ko[0] == "DejaVu Sans" and (len(ko) == 1) == (fonts.cjk_family() is None)
    assert fonts.rc("ko")["svg.fonttype"] == "none"
