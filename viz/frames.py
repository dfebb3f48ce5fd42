"""Step-through backprop: one picture per backward step, and one HTML page to flip through them."""

from __future__ import annotations

import dataclasses
import html
import os

from . import colors, render
from .graph import Graph
from .model import build, fmt


def frames(
    loss, folder, *, derivatives: bool = False, constants: bool = True, rankdir: str = "TB", max_frames: int = 200
) -> list[str]:
    """Write `folder/frame_000.svg`, ... and `folder/index.html`; returns the SVG paths.

    Needs `loss.backward(retain_grad=True)` first. Frame k highlights the k-th tensor in reverse
    topological order (the order backward processes them); tensors already processed show their
    (final) gradient on the shared colour scale, the others are drawn as pending.
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
    os.makedirs(folder, exist_ok=True)
    paths, svgs = [], []
    for k, current in enumerate(steps):
        done = {n.id for n in steps[: k + 1]}
        nodes = []
        for n in full.nodes:
            if n.kind != "tensor" or n.id in done or not n.tensor.requires_grad:
                m = dataclasses.replace(n)
            else:
                m = dataclasses.replace(
                    n, fill=colors.PLAIN_FILL, status="plain", label=n.label[:-1] + ["|grad| pending"]
                )
            if n.id == current.id:
                m.outline = colors.HIGHLIGHT
            nodes.append(m)
        t = current.tensor
        what = t.name or (f"output of {t.op.name}" if t.op is not None else "leaf")
        grad = f"|grad| {fmt(current.grad_norm)}" if current.grad_norm is not None else "no grad"
        action = f"passes it to the inputs of {t.op.name}" if t.op is not None else "accumulates it into .grad"
        title = f"backward step {k + 1}/{len(steps)}: {what} has its full gradient ({grad}) and {action}"
        model = dataclasses.replace(full, nodes=nodes, title=title)
        svg = render.to_bytes(Graph(model, rankdir).source, "svg")
        path = os.path.join(folder, f"frame_{k:03d}.svg")
        render.write_atomic(path, svg)
        paths.append(path)
        svgs.append(svg.decode("utf-8"))
    render.write_atomic(os.path.join(folder, "index.html"), _page(svgs).encode("utf-8"))
    return paths


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
