"""The explorer page: HTML around the page data, with our own CSS and JavaScript (files beside this one).

The script (`explorer_layout.js`, `explorer.js`, `explorer_panels.js`, one function scope) reads
the JSON in `#tg-data` (built by `viz.explore_data`), lays the boxes out itself (calls open and
close in place) and paints step k from the colour events of each box. No library, nothing fetched.
"""

from __future__ import annotations

import html
import json
from importlib import resources

SCRIPTS = ("explorer_layout.js", "explorer.js", "explorer_panels.js")


def asset(name: str) -> str:
    """The text of a file shipped in the viz package (JS, CSS)."""
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def page_json(data: dict) -> str:
    """The data as JSON that is safe inside a <script> element."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")


def page(data: dict) -> str:
    """The whole page for the data of `viz.explore_data.page_data`."""
    t = html.escape(data["title"])
    script = '(function () {\n"use strict";\n' + "\n".join(asset(n) for n in SCRIPTS) + "\n})();"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t}</title>
<style>{asset("explorer.css")}</style></head>
<body>
<header><h1>{t}</h1>
<button id="first" title="first step (Home)">&laquo;</button>
<button id="prev" title="previous (&larr;)">&lsaquo; prev</button>
<input id="slider" type="range" min="0" max="0" value="0" aria-label="backward step">
<button id="next" title="next (&rarr;)">next &rsaquo;</button><button id="last" title="last step (End)">&raquo;</button>
<span id="pos"></span>
<button id="zin" title="zoom in">+</button><button id="zout" title="zoom out">&minus;</button>
<button id="fit" title="the whole graph, as small as text stays readable">fit</button>
<button id="openall" title="open every call">open all</button>
<button id="closeall" title="close every call">close all</button>
<span class="hint">arrow keys step &middot; click a call to open it, its title bar to close it
&middot; drag pans</span></header>
<main><div id="graph"><svg id="canvas" xmlns="http://www.w3.org/2000/svg"><g id="world"></g></svg>
<canvas id="minimap" width="220" height="150" hidden></canvas></div>
<aside><div id="explain"></div><div id="strip"></div><div id="attention"></div>
<h2>node</h2><div id="details"></div></aside></main>
<div id="tip" hidden></div>
<script type="application/json" id="tg-data">{page_json(data)}</script>
<script>{script}</script>
</body></html>
"""
