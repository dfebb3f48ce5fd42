"""Step-through backprop: one picture per step of the engine's record, and one HTML page to flip through them."""

from __future__ import annotations

import dataclasses
import html
import os
import re

from . import colors, render
from .grads import norm, source_for
from .graph import Graph
from .model import build, fill_of, fmt, grad_line, grad_status, grad_tip
from .sources import as_source

PENDING = "|grad| pending"


def frames(
    tensor_or_record,
    folder,
    *,
    derivatives: bool = False,
    constants: bool = True,
    rankdir: str = "TB",
    max_frames: int = 200,
) -> list[str]:
    """Write `folder/frame_000.svg`, ... (one per backward step) and `folder/index.html`; returns the SVG paths.

    The frames follow a `ta.record_backward()` record in the engine's order. Given a scalar
    tensor instead, one backward from it is recorded (its graph must still be alive) and every
    `.grad` is put back. Frame k highlights the node of step k; each tensor shows the gradient
    that had reached it by then (a leaf's grows as contributions arrive). A node not reached yet
    is blank and says "pending", in its label and tooltip; with `derivatives`, an edge's label
    appears once its op has run. Graphviz lays the graph out once; each frame re-colours it.
    """
    roots, grads = source_for(as_source(tensor_or_record, "frames"), True, "frames")
    steps = grads.record.steps
    if not steps:
        raise ValueError("frames: the record has no backward steps (a backward from a leaf); nothing to step through")
    if len(steps) > max_frames:
        raise ValueError(
            f"frames: {len(steps)} backward steps is more than max_frames={max_frames}; step through a smaller "
            "graph (a few time steps) or raise max_frames"
        )
    full = build(roots[0] if len(roots) == 1 else roots, grads=grads, derivatives=derivatives, constants=constants)
    titles = [_title(k, len(steps), s) for k, s in enumerate(steps)]
    layout = dataclasses.replace(full, title=max(titles, key=len), nodes=[_room(n) for n in full.nodes])
    sheet = _Sheet(render.to_bytes(Graph(layout, rankdir).source, "svg").decode("utf-8"))
    os.makedirs(folder, exist_ok=True)
    paths, svgs = [], []
    for k, svg in enumerate(_Replay(full, grads.record).frames(sheet, titles)):
        path = os.path.join(folder, f"frame_{k:03d}.svg")
        render.write_atomic(path, svg.encode("utf-8"))
        paths.append(path)
        svgs.append(svg)
    render.write_atomic(os.path.join(folder, "index.html"), _page(svgs).encode("utf-8"))
    return paths


def _room(node):
    """The node as laid out, with room for "|grad| pending" on its last line."""
    if node.kind != "tensor" or node.status == "plain":
        return node
    return dataclasses.replace(node, label=node.label[:-1] + [max(node.label[-1], PENDING, key=len)])


def _title(k, n, step):
    t = step.tensor
    what = t.name or f"output of {step.op}"
    return (
        f"backward step {k + 1}/{n}: {what} has its full gradient (|grad| {fmt(norm(step.grad))}) "
        f"and passes it to the inputs of {step.op}"
    )


class _Replay:
    """The record's steps replayed in order: what each drawn box shows after step k."""

    def __init__(self, model, rec):
        self.model, self.rec = model, rec
        nodes = model.nodes
        self.nodes = {n.id: n for n in nodes}
        self.box = {id(n.tensor): n.id for n in nodes if n.kind == "tensor"}
        self.op_node = {id(n.fn): n.id for n in nodes if n.kind == "op"}
        self.refs = {}  # main box id -> ids of its copies inside clusters
        for n in nodes:
            if n.kind == "ref":
                self.refs.setdefault(n.ref_of, []).append(n.id)
        self.feeds = {}  # copy id -> the op nodes it feeds: it fills up once one of them has run
        for e in model.edges:
            if e.src in self.nodes and self.nodes[e.src].kind == "ref":
                self.feeds.setdefault(e.src, set()).add(e.dst)
        self.lo, self.hi = model.scale

    def frames(self, sheet, titles):
        """Yield the SVG of each step's frame."""
        rec = self.rec
        received = {}  # box id -> gradient arrived so far
        done_ops = set()  # op nodes whose step has run
        first = {}
        for s in rec.steps:
            first.setdefault(s.run, s.index)
        for k, s in enumerate(rec.steps):
            if first[s.run] == k:  # the run starts here: its output gets the seed gradient
                self._arrive(received, s.tensor, s.grad)
            for p, c in zip(s.inputs, s.contributions):
                if c is not None:
                    self._arrive(received, p, c)
            op = self.op_node.get(id(s.fn))
            if op is not None:
                done_ops.add(op)
            current = [x for x in (self.box.get(id(s.tensor)), op) if x is not None]
            states = dict(received)
            for box, g in received.items():
                for copy in self.refs.get(box, []):
                    if self.feeds.get(copy, set()) & done_ops:  # a copy fills up from its own op on
                        states[copy] = g
            yield sheet.frame(titles[k], self, states, done_ops, current)

    def _arrive(self, received, t, g):
        box = self.box.get(id(t))
        if box is not None:
            prev = received.get(box)
            received[box] = g if prev is None else prev + g

    def look(self, node_id, g):
        """(fill, text colour, last label line or None, tooltip grad line) of a box holding gradient `g`."""
        status, norm = grad_status(g)
        fill = fill_of(status, norm, self.lo, self.hi)
        node = self.nodes[node_id]
        line = grad_line(status, norm) if node.kind == "tensor" else None
        return fill, colors.text_colour(fill), line, grad_tip(g, norm) + " (arrived so far)"


_GROUP = re.compile(r'<g id="([^"]+)" class="(node|edge)">\s*<title>([^<]*)</title>')
_TAG = re.compile(r"<g\b|</g>")
_SHAPE = re.compile(r'<(path|polygon|ellipse) fill="[^"]*" stroke="[^"]*"')
_TEXT_FILL = re.compile(r'(<text[^>]*?)(?: fill="[^"]*")?>')
_LAST_TEXT = re.compile(r">[^<]*</text>(?!.*</text>)", re.S)
_GRAD_TIP = re.compile(r"&#10;grad: .*?(?=&#10;|\")")
_STEP_TIP = re.compile(r"&#10;backward step \d+ of \d+[^&\"]*")
_EDGE_TEXT = re.compile(r"<text[^>]*>[^<]*</text>\n?")
_EDGE_TIP = re.compile(r'xlink:title="[^"]*"')
_STROKE = re.compile(r'(fill|stroke)="#555555"')


class _Sheet:
    """One Graphviz SVG cut at its node and edge groups, so a frame only rewrites those."""

    def __init__(self, svg: str):
        self.parts: list[str] = []  # text between groups, group, text, ...
        self.groups: list[tuple[str, str, str]] = []  # (kind, DOT name, edge head or "")
        pos = 0
        for m in _GROUP.finditer(svg):
            if m.start() < pos:
                continue
            end = _group_end(svg, m.start())
            self.parts.append(svg[pos : m.start()])
            self.parts.append(svg[m.start() : end])
            name = html.unescape(m.group(3))
            src, _, dst = name.partition("->")
            self.groups.append((m.group(2), name if m.group(2) == "node" else src, dst))
            pos = end
        self.parts.append(svg[pos:])
        head = self.parts[0]
        g = head.find('class="graph"')
        t = head.find("<text", g)
        if g >= 0 and t >= 0 and head.find("<g id=", g + 1, t) < 0:  # the title comes before any group
            self.title_at = (head.find(">", t) + 1, head.find("</text>", t))
        else:
            self.title_at = None

    def frame(self, title: str, replay: _Replay, states: dict, done_ops: set, current: list) -> str:
        out = list(self.parts)
        if self.title_at:
            a, b = self.title_at
            out[0] = out[0][:a] + html.escape(title, quote=False) + out[0][b:]
        nodes = replay.nodes
        for i, (kind, name, dst) in enumerate(self.groups):
            seg = out[2 * i + 1]
            if kind == "edge":
                if dst in done_ops or nodes.get(dst) is None or nodes[dst].kind != "op":
                    if dst in current:  # the gradient flows back along these edges now
                        seg = _STROKE.sub(rf'\1="{colors.HIGHLIGHT}"', seg)
                else:  # its op has not run: no label of what it will pass back
                    seg = _EDGE_TIP.sub('xlink:title="pending: its op has not run yet"', _EDGE_TEXT.sub("", seg))
                out[2 * i + 1] = seg
                continue
            node = nodes.get(name)
            if node is None or node.kind not in ("tensor", "ref") or node.status == "plain":
                if name in current:
                    seg = _highlight(seg)
                out[2 * i + 1] = seg
                continue
            g = states.get(name)
            if g is None:
                seg = _SHAPE.sub(f'<\\1 fill="{colors.PLAIN_FILL}" stroke="#999999"', seg, count=1)
                seg = _TEXT_FILL.sub(r'\1 fill="#666666">', seg)  # grey text, as on a box with no gradient
                if node.kind == "tensor":
                    seg = _LAST_TEXT.sub(f">{PENDING}</text>", seg)
                seg = _GRAD_TIP.sub("&#10;grad: pending (not reached yet)", seg)
                seg = _STEP_TIP.sub("", seg)
            else:
                fill, ink, line, tip = replay.look(name, g)
                seg = _SHAPE.sub(f'<\\1 fill="{fill}" stroke="black"', seg, count=1)
                seg = _TEXT_FILL.sub(rf'\1 fill="{ink}">', seg)
                if line is not None:
                    seg = _LAST_TEXT.sub(f">{html.escape(line, quote=False)}</text>", seg)
                seg = _GRAD_TIP.sub("&#10;" + html.escape(tip).replace("\\", "\\\\"), seg)
            if name in current:
                seg = _highlight(seg)
            out[2 * i + 1] = seg
        return "".join(out)


def _highlight(seg: str) -> str:
    return _SHAPE.sub(
        lambda m: m.group(0).rsplit(" stroke=", 1)[0] + f' stroke="{colors.HIGHLIGHT}" stroke-width="4"', seg, count=1
    )


def _group_end(svg: str, start: int) -> int:
    """End of the `<g>` element opening at `start` (nested groups counted)."""
    depth = 0
    for m in _TAG.finditer(svg, start):
        depth += 1 if m.group(0) == "<g" else -1
        if depth == 0:
            return m.end() + (1 if svg.startswith("\n", m.end()) else 0)
    return len(svg)


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
