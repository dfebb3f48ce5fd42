"""Any tensor name draws: control characters shown as \\xNN, a very long name cut, the SVG valid XML."""

import xml.dom.minidom

import numpy as np
import pytest

import viz
from tinygrad_attn import Tensor
from viz.dot import MAX_LINE, plain


@pytest.mark.parametrize("name", ["a\x00b", "bell\x07", "tab\there", "del\x7f", "z" * 16000, "ünïcødé λ"])
def test_any_name_renders_to_valid_svg(tmp_path, name):
    x = Tensor(np.ones(3), requires_grad=True, name=name)
    y = (x * 2).sum()
    y.backward(retain_graph=True)
    path = viz.draw(y).render(str(tmp_path / "g.svg"))
    svg = open(path, encoding="utf-8").read()
    xml.dom.minidom.parseString(svg)  # raises on a control character
    shown = plain(name)
    assert len(shown) <= MAX_LINE
    assert shown.replace("\u2026", "")[:20] in svg.replace("&#45;", "-")


def test_plain_shows_control_characters_and_cuts_long_text():
    assert plain("a\x00b\x07") == "a\\x00b\\x07"
    assert plain("x" * 500, 10) == "x" * 9 + "\u2026"
    assert plain("ok") == "ok"
