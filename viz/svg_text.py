"""The text of an SVG and how big it is on screen: every string with its font size in px at a display width.

Reads matplotlib SVGs (`style="font-size: 10px"` on <text>/<tspan>, mathtext glyphs scaled by a
`transform`) and Graphviz SVGs (`font-size="14.00"` attributes under `scale(...)`) alike. An SVG
shown `width` px wide maps its viewBox width (its width attribute without one) onto those px.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_TRANSFORM = re.compile(r"(matrix|scale|translate|rotate|skewX|skewY)\s*\(([^)]*)\)")
_STYLE_SIZE = re.compile(r"font-size\s*:\s*(" + _NUM + r")\s*(px|pt)?")
_STYLE_FONT = re.compile(r"(?:^|;)\s*font\s*:[^;]*?(" + _NUM + r")(px|pt)")
PT = 4.0 / 3.0  # px per pt, for sizes given in pt


@dataclass(frozen=True)
class Text:
    """One run of text: the string and its rendered font size in px at the display width."""

    text: str
    px: float


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _scale_of(transform: str | None) -> float:
    """The area scale factor (sqrt |det|) of an SVG transform list; rotations and translations give 1."""
    if not transform:
        return 1.0
    k = 1.0
    for name, args in _TRANSFORM.findall(transform):
        v = [float(a) for a in re.findall(_NUM, args)]
        if name == "matrix" and len(v) == 6:
            k *= math.sqrt(abs(v[0] * v[3] - v[1] * v[2]))
        elif name == "scale" and v:
            k *= math.sqrt(abs(v[0] * (v[1] if len(v) > 1 else v[0])))
    return k


def _font_size(el) -> float | None:
    """The font size set on this element (user units), or None to inherit."""
    style = el.get("style") or ""
    m = _STYLE_SIZE.search(style) or _STYLE_FONT.search(style)
    if m:
        return float(m.group(1)) * (PT if m.group(2) == "pt" else 1.0)
    a = el.get("font-size")
    if a:
        m = re.match(_NUM, a.strip())
        if m:
            return float(m.group(0)) * (PT if a.strip().endswith("pt") else 1.0)
    return None


def _length(value: str | None) -> float | None:
    if not value:
        return None
    m = re.match(_NUM, value.strip())
    if not m:
        return None
    return float(m.group(0)) * (PT if value.strip().endswith("pt") else 1.0)


def user_width(root) -> float:
    """The width of the SVG's user coordinate system (the viewBox width, else the width attribute)."""
    box = root.get("viewBox")
    if box:
        parts = [float(x) for x in re.findall(_NUM, box)]
        if len(parts) == 4 and parts[2] > 0:
            return parts[2]
    w = _length(root.get("width"))
    if not w:
        raise ValueError("svg_text: the SVG has neither a viewBox nor a width")
    return w


def texts(svg: bytes | str, width: float = 900.0) -> list[Text]:
    """Every non-blank text run of `svg` with its font size in px when the picture is shown `width` px wide."""
    root = ET.fromstring(svg.encode("utf-8") if isinstance(svg, str) else svg)
    if _local(root.tag) != "svg":
        raise ValueError(f"svg_text: the root element is <{_local(root.tag)}>, not <svg>")
    zoom = width / user_width(root)
    out: list[Text] = []

    def walk(el, scale, size):
        scale *= _scale_of(el.get("transform"))
        own = _font_size(el)
        size = own if own is not None else size
        tag = _local(el.tag)
        if tag in ("text", "tspan") and el.text and el.text.strip():
            out.append(Text(el.text.strip(), (size if size is not None else 16.0) * scale * zoom))
        for child in el:
            walk(child, scale, size)
            if _local(el.tag) in ("text", "tspan") and child.tail and child.tail.strip():
                out.append(Text(child.tail.strip(), (size if size is not None else 16.0) * scale * zoom))

    walk(root, 1.0, None)
    return out


def smallest(svg: bytes | str, width: float = 900.0) -> Text:
    """The smallest text run of `svg` shown `width` px wide (ValueError when the SVG has no text)."""
    found = texts(svg, width)
    if not found:
        raise ValueError("svg_text: no <text> in the SVG (text drawn as paths?)")
    return min(found, key=lambda t: t.px)
