"""Step-through backprop: one picture per backward step, and one HTML page to flip through them."""

from __future__ import annotations

import dataclasses
import html
import os
import re

from . import colors, render
from .graph import Graph
from .model import build, fmt


def frames(
    loss, folder, *, derivatives: bool = False, constants: bool = True, rankdir: str = "TB", max_frames: int = 200
) -> list[str]:
    """Write `folder/frame_000.svg`, ... and `folder/index.html`; returns the SVG paths.

    Needs `loss.backward(retain_grad=True)` first. Frame k highlights the k-th tensor in reverse
    topological order (the order backward processes them); tensors already processed show their
    (final) gradient on the shared colour scale, the others are blank and say "pending". Graphviz
    lays the graph out once; each frame is that SVG re-coloured, so the cost is linear in steps.
    """
    if loss.grad is None:
        raise ValueError("frames: no gradient on the output; call loss.backward(retain_grad=True) first")
    full = build(loss, derivatives=derivatives, constants=constants)
    tensor_nodes = [n for n in full.nodes if n.kind == "tensor" and n.tensor.requires_grad]
    steps = list(reversed(tensor_nodes))
    if len(steps) > max_frames:
        raise ValueError(
            f"frames: {len(steps)} backward steps is more than max_frames={max_frames}; step through a smaller "
            "graph (a few time steps) or raise max_frames"
        )
    titles = [_title(k, len(steps), n) for k, n in enumerate(steps)]
    layout = dataclasses.replace(full, title=max(titles, key=len))  # room for the longest title
    sheet = _Sheet(render.to_bytes(Graph(layout, rankdir).source, "svg").decode("utf-8"))
    os.makedirs(folder, exist_ok=True)
    paths, svgs = [], []
    for k, current in enumerate(steps):
        pending = {n.id for n in steps[k + 1 :]}
        svg = sheet.frame(titles[k], pending, current.id)
        path = os.path.join(folder, f"frame_{k:03d}.svg")
        render.write_atomic(path, svg.encode("utf-8"))
        paths.append(path)
        svgs.append(svg)
    render.write_atomic(os.path.join(folder, "index.html"), _page(svgs).encode("utf-8"))
    return paths


def _title(k, n, node):
    t = node.tensor
    what = t.name or (f"output of {t.op.name}" if t.op is not None else "leaf")
    grad = f"|grad| {fmt(node.grad_norm)}" if node.grad_norm is not None else "no grad"
    action = f"passes it to the inputs of {t.op.name}" if t.op is not None else "accumulates it into .grad"
    return f"backward step {k + 1}/{n}: {what} has its full gradient ({grad}) and {action}"


_NODE = re.compile(r'<g id="(n\d+)" class="node">')
_SHAPE = re.compile(r'<(path|polygon|ellipse) fill="[^"]*" stroke="[^"]*"')
_TEXT_FILL = re.compile(r'(<text[^>]*?)(?: fill="[^"]*")?>')
_LAST_TEXT = re.compile(r">[^<]*</text>(?!.*</text>)", re.S)
_GRAD_TIP = re.compile(r"&#10;grad: .*?(?=&#10;|\")")


class _Sheet:
    """One Graphviz SVG cut at its node groups, so a frame only rewrites the nodes that change."""

    def __init__(self, svg: str):
        self.parts: list[str] = []  # text between nodes, node segment, text, ...
        self.ids: list[str] = []
        pos = 0
        for m in _NODE.finditer(svg):
            end = svg.find("<!--", m.end())
            end = end if end >= 0 else svg.rfind("</g>\n</svg>")
            self.parts.append(svg[pos : m.start()])
            self.parts.append(svg[m.start() : end])
            self.ids.append(m.group(1))
            pos = end
        self.parts.append(svg[pos:])
        head = self.parts[0]
        g = head.find('class="graph"')
        t = head.find("<text", g)
        if g >= 0 and t >= 0 and head.find("<g id=", g + 1, t) < 0:  # the title comes before any group
            close = head.find("</text>", t)
            self.title_at = (head.find(">", t) + 1, close)
        else:
            self.title_at = None

    def frame(self, title: str, pending: set, current: str) -> str:
        out = list(self.parts)
        if self.title_at:
            a, b = self.title_at
            out[0] = out[0][:a] + html.escape(title, quote=False) + out[0][b:]
        for i, node_id in enumerate(self.ids):
            seg = out[2 * i + 1]
            if node_id in pending:
                seg = _SHAPE.sub(f'<\\1 fill="{colors.PLAIN_FILL}" stroke="#999999"', seg, count=1)
                seg = _TEXT_FILL.sub(r'\1 fill="#666666">', seg)  # grey text, as on a box with no gradient
                seg = _LAST_TEXT.sub(">|grad| pending</text>", seg)
                seg = _GRAD_TIP.sub("&#10;grad: pending (not reached yet)", seg)
            if node_id == current:
                seg = _SHAPE.sub(
                    lambda m: m.group(0).rsplit(" stroke=", 1)[0] + f' stroke="{colors.HIGHLIGHT}" stroke-width="4"',
                    seg,
                    count=1,
                )
            out[2 * i + 1] = seg
        return "".join(out)


def _strip_prolog(svg: str) -> str:
    i = svg.find("<svg")
    return svg[i:] if i >= 0 else svg


def _page(svgs) -> str:
    """One self-contained HTML page: every frame inline, buttons and arrow keys to step."""
    divs = "\n".join(
        f'<div class="frame" id="f{i}"{"" if i == 0 else " hidden"}>{_strip_prolog(s)}</div>'
        for i, s in enumerate(svgs)
    )
    n = len(svgs)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape("backprop, step by step")}</title>
<style>body{{font-family:sans-serif;margin:1em}} .frame svg{{max-width:100%;height:auto}}
button{{font-size:1em;margin-right:.5em}}</style></head>
<body>
<p><button id="prev">&larr; previous</button><button id="next">next &rarr;</button>
<input id="slider" type="range" min="0" max="{n - 1}" value="0"> <span id="pos">1 / {n}</span>
(arrow keys step)</p>
{divs}
<script>
let k = 0; const n = {n};
function show(i) {{
  k = Math.max(0, Math.min(n - 1, i));
  document.querySelectorAll('.frame').forEach((d, j) => d.hidden = (j !== k));
  document.getElementById('slider').value = k;
  document.getElementById('pos').textContent = (k + 1) + ' / ' + n;
}}
document.getElementById('prev').onclick = () => show(k - 1);
document.getElementById('next').onclick = () => show(k + 1);
document.getElementById('slider').oninput = e => show(parseInt(e.target.value));
document.addEventListener('keydown', e => {{
  if (e.key === 'ArrowLeft') show(k - 1);
  if (e.key === 'ArrowRight') show(k + 1);
}});
</script>
</body></html>
"""
