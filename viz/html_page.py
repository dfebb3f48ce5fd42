"""A self-contained HTML page in Python: its text, `save(path)`, and an inline frame for Jupyter."""

from __future__ import annotations

import html
import os

from . import render


class HtmlPage:
    """Holds `html`; subclasses set `frame_title` and `frame_height` (px) for Jupyter's inline frame."""

    frame_title = "page"
    frame_height = 640

    def __init__(self, html_text: str):
        self.html = html_text

    def save(self, path) -> str:
        """Write the page to `path` atomically (UTF-8); returns the path."""
        path = os.fspath(path)
        render.write_atomic(path, self.html.encode("utf-8"))
        return path

    def _repr_html_(self) -> str:
        doc = html.escape(self.html, quote=True)
        return (
            f'<iframe srcdoc="{doc}" sandbox="allow-scripts" title="{html.escape(self.frame_title)}" '
            f'style="width:100%;height:{self.frame_height}px;border:1px solid #ccc"></iframe>'
        )
