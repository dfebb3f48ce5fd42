"""The explorer page: HTML around the SVG, our own CSS and JavaScript (no library, nothing fetched).

The script reads the JSON in `#tg-data` (built by `viz.explore_data`) and paints the SVG for
step k from the colour events of each node, so step k shows nothing of the steps after it.
"""

from __future__ import annotations

import html

from .explore_panels import PANELS_JS

CSS = """
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; }
body { display: flex; flex-direction: column; }
header { display: flex; align-items: center; gap: .45em; padding: .45em .8em; border-bottom: 1px solid #ddd;
  flex-wrap: wrap; background: #f7f7f7; }
header h1 { font-size: 15px; margin: 0 .8em 0 0; font-weight: 600; }
header button { font: inherit; padding: .15em .6em; }
#slider { flex: 1; min-width: 140px; }
#pos { min-width: 7em; font-variant-numeric: tabular-nums; }
.hint { color: #777; font-size: 12px; }
main { flex: 1; display: flex; min-height: 0; }
#graph { flex: 1; position: relative; overflow: hidden; background: #fff; cursor: grab; }
#graph.drag { cursor: grabbing; }
#graph svg { display: block; width: 100%; height: 100%; user-select: none; }
aside { width: 440px; overflow-y: auto; border-left: 1px solid #ddd; padding: .5em .8em 2em; background: #fcfcfc; }
aside h2 { font-size: 13px; margin: 1em 0 .3em; text-transform: uppercase; letter-spacing: .04em; color: #555; }
#explain .head { font-weight: 600; font-size: 14px; }
#explain .eq, #explain .note { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 12px;
  white-space: pre-wrap; word-break: break-word; }
#explain .eq { background: #fff4e6; border-left: 3px solid #ff7f0e; padding: .15em .4em; margin: .15em 0; }
#explain .inp { margin-top: .55em; }
#explain .muted, .muted { color: #777; }
#tip { position: fixed; pointer-events: none; background: #fff; border: 1px solid #999; border-radius: 4px;
  padding: .35em .55em; font-size: 12px; max-width: 380px; z-index: 10; box-shadow: 0 2px 6px rgba(0,0,0,.15); }
#tip b { font-weight: 600; }
g.node { cursor: pointer; }
g.node.tg-sel path, g.node.tg-sel polygon, g.node.tg-sel ellipse { stroke: #1f77b4; stroke-width: 3px; }
g.node.tg-in path, g.node.tg-in polygon, g.node.tg-in ellipse { stroke: #ff7f0e; stroke-width: 2px; }
g.node.tg-cur path, g.node.tg-cur polygon, g.node.tg-cur ellipse { stroke: #ff7f0e; stroke-width: 4px; }
g.edge.tg-flow path { stroke: #ff7f0e; stroke-width: 2.5px; }
g.edge.tg-flow polygon { stroke: #ff7f0e; fill: #ff7f0e; }
canvas.heat { image-rendering: pixelated; border: 1px solid #ccc; display: block; margin: .2em 0; }
.cap { font-size: 11px; color: #666; }
pre.src { max-height: 260px; overflow: auto; background: #fff; border: 1px solid #ddd; padding: .45em;
  font-size: 11px; margin: .3em 0; }
#strip .row { overflow-x: auto; }
#strip svg rect.bar { cursor: pointer; }
.attn { display: flex; gap: .8em; align-items: flex-start; cursor: pointer; padding: .2em; border-radius: 3px; }
.attn.cur { background: #fff4e6; }
"""

JS_HEAD = r"""
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("tg-data").textContent);
  const $ = (id) => document.getElementById(id);
  const svg = document.querySelector("#graph svg");
  const steps = D.steps, T = D.tensors, N = steps.length, P = D.pending;
  const num = (x) => (typeof x === "string" ? Number(x) : x);
  let cur = 0, selected = null;

  function fmt(x) {
    const v = num(x);
    if (v === null || v === undefined) return "?";
    if (Number.isNaN(v)) return "NaN";
    if (!Number.isFinite(v)) return v > 0 ? "Inf" : "-Inf";
    if (v === 0) return "0";
    const a = Math.abs(v);
    if (a >= 1e-4 && a < 1e6) return String(Number(v.toPrecision(3)));
    const p = v.toExponential(2).split("e");
    return String(Number(p[0])) + "e" + p[1].replace("+", "");
  }
  const shape = (s) => "(" + s.join(", ") + (s.length === 1 ? "," : "") + ")";
  const list = (S) => "[" + S.v.map(fmt).join(", ") + (S.v.length < S.n ? ", ..." : "") + "]";
  const stats = (S) => S.n ? "min " + fmt(S.min) + "  max " + fmt(S.max) + "  mean " + fmt(S.mean) +
    "  norm " + fmt(S.norm) : "empty";
  const nrm = (S) => (S.n === 1 ? num(S.v[0]) : num(S.norm));
  function el(tag, text, cls, parent) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    if (parent) parent.appendChild(e);
    return e;
  }
  function lastEvent(ev, k) {
    let lo = 0, hi = ev.length;
    while (lo < hi) { const m = (lo + hi) >> 1; if (ev[m][0] <= k) lo = m + 1; else hi = m; }
    return lo ? ev[lo - 1] : null;
  }
  const byId = (id) => nodes.find((n) => n.id === id);
  const dname = (t) => "dL/d" + (/\s/.test(t.name) ? "(" + t.name + ")" : t.name);

  // ---- the drawn nodes: their shape, texts and the line that shows |grad| -------------------
  const nodes = [], tensorNodes = {}, tensorEvents = {}, edgesTo = {}, edgesFrom = {};
  for (const id in D.nodes) {
    const g = document.getElementById(id);
    if (!g) continue;
    const info = D.nodes[id];
    const shp = g.querySelector("path, polygon, ellipse");
    const texts = Array.from(g.querySelectorAll("text"));
    let gl = null;
    for (const t of texts) if (/grad/.test(t.textContent)) gl = t;
    const n = { id, g, info, shp, texts, gl, state: -2, stroke: shp ? shp.getAttribute("stroke") : null,
      dash: shp ? shp.getAttribute("stroke-dasharray") : null };
    nodes.push(n);
    for (const ti of info.t) (tensorNodes[ti] = tensorNodes[ti] || []).push(id);
    if (info.k === "tensor") tensorEvents[info.t[0]] = info.ev;
  }
  for (const e of svg.querySelectorAll("g.edge")) {
    (edgesTo[e.dataset.d] = edgesTo[e.dataset.d] || []).push(e);
    (edgesFrom[e.dataset.s] = edgesFrom[e.dataset.s] || []).push(e);
  }
  // an edge's label (derivative or gain, read from the record) appears once its op has run
  const labels = [];
  for (const n of nodes) {
    if (n.info.k !== "op") continue;
    const texts = [];
    for (const e of edgesTo[n.id] || []) texts.push(...e.querySelectorAll("text"));
    if (texts.length) labels.push({ step: Math.min(...n.info.s), texts, shown: null });
  }
  function paintLabels(k) {
    for (const l of labels) {
      const shown = l.step <= k;
      if (shown === l.shown) continue;
      l.shown = shown;
      for (const t of l.texts) t.style.visibility = shown ? "" : "hidden";
    }
  }

  function paint(n, k) {
    const ev = n.info.ev;
    if (!ev || !ev.length || !n.shp) return;
    const e = lastEvent(ev, k);
    const state = e ? ev.indexOf(e) : -1;
    if (state === n.state) return;
    n.state = state;
    if (e) {
      n.shp.setAttribute("fill", e[1]);
      n.shp.setAttribute("stroke", n.stroke || "black");
      if (n.dash) n.shp.setAttribute("stroke-dasharray", n.dash); else n.shp.removeAttribute("stroke-dasharray");
      for (const t of n.texts) t.setAttribute("fill", e[2]);
      if (n.gl) setLine(n, e[3]);
    } else {
      n.shp.setAttribute("fill", P.fill);
      n.shp.setAttribute("stroke", P.stroke);
      n.shp.setAttribute("stroke-dasharray", "5,2");
      for (const t of n.texts) t.setAttribute("fill", P.text);
      if (n.gl) setLine(n, "|grad| pending");
    }
  }
  for (const n of nodes) {  // measured once, before any change: no layout is forced while stepping
    if (!n.gl || !n.shp) continue;
    n.width = n.shp.getBBox().width - 8;
    n.charWidth = n.gl.getComputedTextLength() / Math.max(1, n.gl.textContent.length);
  }
  function setLine(n, text) {  // a longer line than Graphviz sized the box for is squeezed to fit
    n.gl.textContent = text;
    if (text.length * n.charWidth > n.width) {
      n.gl.setAttribute("textLength", n.width);
      n.gl.setAttribute("lengthAdjust", "spacingAndGlyphs");
    } else n.gl.removeAttribute("textLength");
  }

  // the gradient a tensor holds after step k: {S, note} or null (not reached yet)
  function gradAt(ti, k) {
    const ev = tensorEvents[ti];
    const e = ev && lastEvent(ev, k);
    if (!e) return null;
    const s = steps[e[0]];
    if (s.t === ti) return { S: s.g, note: "arrived at step " + (e[0] + 1) };
    let best = null;
    for (const inp of s.ins) if (inp.t === ti && inp.c && (!best || inp.k > best.k)) best = inp;
    if (!best) return null;
    const done = best.k === best.n ? "all " + best.n : best.k + " of " + best.n;
    return { S: best.cum || best.c, note: "sum of " + done + " contributions (after step " + (e[0] + 1) + ")" };
  }

  // ---- pan and zoom ------------------------------------------------------------------------
  const vb = svg.viewBox.baseVal;
  const full = { x: vb.x, y: vb.y, w: vb.width, h: vb.height };
  let view = Object.assign({}, full);
  function setView(v) { view = v; svg.setAttribute("viewBox", v.x + " " + v.y + " " + v.w + " " + v.h); }
  function toSvg(cx, cy) {
    const p = svg.createSVGPoint(); p.x = cx; p.y = cy;
    return p.matrixTransform(svg.getScreenCTM().inverse());
  }
  function zoom(f, cx, cy) {
    const p = toSvg(cx, cy);
    const w = Math.min(full.w * 4, Math.max(20, view.w * f)), r = w / view.w;
    setView({ x: p.x - (p.x - view.x) * r, y: p.y - (p.y - view.y) * r, w: w, h: view.h * r });
  }
  function pxScale() {
    const r = svg.getBoundingClientRect();
    return Math.min(r.width / view.w, r.height / view.h) || 1;
  }
  const box = $("graph");
  box.addEventListener("wheel", (e) => { e.preventDefault(); zoom(Math.exp(e.deltaY * 0.0015), e.clientX, e.clientY); },
    { passive: false });
  let drag = null, moved = false;
  box.addEventListener("mousedown", (e) => {
    if (e.button !== 0) return;
    drag = { x: e.clientX, y: e.clientY, v: Object.assign({}, view), s: pxScale() }; moved = false;
    box.classList.add("drag");
  });
  window.addEventListener("mousemove", (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) moved = true;
    setView({ x: drag.v.x - dx / drag.s, y: drag.v.y - dy / drag.s, w: drag.v.w, h: drag.v.h });
  });
  window.addEventListener("mouseup", () => { drag = null; box.classList.remove("drag"); });
  function bboxOf(g) {
    const b = g.getBBox(), m = svg.getScreenCTM().inverse().multiply(g.getScreenCTM());
    const p = svg.createSVGPoint();
    p.x = b.x; p.y = b.y; const a = p.matrixTransform(m);
    p.x = b.x + b.width; p.y = b.y + b.height; const c = p.matrixTransform(m);
    return { x: Math.min(a.x, c.x), y: Math.min(a.y, c.y), w: Math.abs(c.x - a.x), h: Math.abs(c.y - a.y) };
  }
  const boxes = {};  // node id -> its box in SVG units, measured once at load (measuring later forces a layout)
  for (const n of nodes) boxes[n.id] = bboxOf(n.g);
  function reveal(id, centre) {
    const g = id && document.getElementById(id);
    if (!g) return;
    const b = boxes[id] || (boxes[id] = bboxOf(g)), cx = b.x + b.w / 2, cy = b.y + b.h / 2;
    const inside = cx > view.x + view.w * 0.1 && cx < view.x + view.w * 0.9 &&
      cy > view.y + view.h * 0.1 && cy < view.y + view.h * 0.9;
    if (centre || !inside) setView({ x: cx - view.w / 2, y: cy - view.h / 2, w: view.w, h: view.h });
  }
  $("fit").onclick = () => setView(Object.assign({}, full));
  function zoomCentre(f) { const r = box.getBoundingClientRect(); zoom(f, r.x + r.width / 2, r.y + r.height / 2); }
  $("zin").onclick = () => zoomCentre(0.7);
  $("zout").onclick = () => zoomCentre(1.4);

  // ---- hover: value and gradient statistics -----------------------------------------------------
  const tip = $("tip");
  function describe(n) {
    const info = n.info, lines = [];
    if (info.k === "op") {
      const s = steps[info.s[0]], r = D.rules[s.rule];
      lines.push(["b", "op " + s.op]);
      lines.push(["", (r.doc || "").split("\n")[0]]);
      const done = info.s.filter((i) => i <= cur);
      lines.push(["", done.length ? "processed at step " + (done[done.length - 1] + 1) : "not processed yet"]);
      return lines;
    }
    if (info.k === "summary") {
      const e = lastEvent(info.ev, cur);
      lines.push(["b", "collapsed: " + info.t.length + " tensors"]);
      lines.push(["", e ? e[3] + " so far" : "no gradient yet"]);
      return lines;
    }
    const ti = info.t[0], t = T[ti];
    lines.push(["b", t.name + "  " + shape(t.value.s) + "  " + t.dtype + (t.scope ? "  [" + t.scope + "]" : "")]);
    lines.push(["", "value: " + stats(t.value)]);
    if (!t.rg) { lines.push(["muted", "gradient: not needed (constant)"]); return lines; }
    const g = gradAt(ti, cur);
    lines.push(g ? ["", "gradient: " + stats(g.S)] : ["muted", "gradient: not reached yet"]);
    if (g) lines.push(["muted", g.note]);
    return lines;
  }
  for (const n of nodes) {
    n.g.addEventListener("mouseenter", () => {
      tip.textContent = "";
      for (const [cls, text] of describe(n)) el("div", text, cls, tip);
      tip.hidden = false;
    });
    n.g.addEventListener("mousemove", (e) => {
      tip.style.left = Math.min(e.clientX + 14, window.innerWidth - tip.offsetWidth - 8) + "px";
      tip.style.top = Math.min(e.clientY + 14, window.innerHeight - tip.offsetHeight - 8) + "px";
    });
    n.g.addEventListener("mouseleave", () => { tip.hidden = true; });
    n.g.addEventListener("click", () => { if (!moved) select(n.id); });
  }

"""

JS_TAIL = r"""
  // ---- stepping ----------------------------------------------------------------------------
  let marked = [];
  function mark(e, cls) { if (e) { e.classList.add(cls); marked.push([e, cls]); } }
  function show(k) {
    k = Math.max(0, Math.min(N - 1, Math.round(Number(k)) || 0));
    cur = k;
    for (const n of nodes) paint(n, k);
    paintLabels(k);
    for (const [e, cls] of marked) e.classList.remove(cls);
    marked = [];
    const s = steps[k];
    const into = edgesTo[s.opId] || [];  // the drawn inputs of this op (the copy of a shared leaf in this step)
    if (into.length) for (const e of into) mark($(e.dataset.s), "tg-in");
    else for (const inp of s.ins) if (inp.c) for (const id of tensorNodes[inp.t] || []) mark($(id), "tg-in");
    mark(s.opId && $(s.opId), "tg-cur");
    mark(s.id && $(s.id), "tg-cur");
    for (const e of into) mark(e, "tg-flow");
    for (const e of edgesFrom[s.opId] || []) if (e.dataset.d === s.id) mark(e, "tg-flow");
    $("slider").value = k;
    $("pos").textContent = "step " + (k + 1) + " / " + N;
    explain(k);
    paintStrip(k);
    paintAttention(k);
    if (selected) details();
    reveal(s.id, false);
    return s.id;
  }
  $("prev").onclick = () => show(cur - 1);
  $("next").onclick = () => show(cur + 1);
  $("first").onclick = () => show(0);
  $("last").onclick = () => show(N - 1);
  $("slider").max = N - 1;
  $("slider").addEventListener("input", (e) => show(e.target.value));
  document.addEventListener("keydown", (e) => {
    if (e.target === $("slider")) return;
    if (e.key === "ArrowLeft" || e.key === "ArrowUp") { show(cur - 1); e.preventDefault(); }
    if (e.key === "ArrowRight" || e.key === "ArrowDown") { show(cur + 1); e.preventDefault(); }
    if (e.key === "Home") show(0);
    if (e.key === "End") show(N - 1);
  });

  window.tinygradAttn = {
    steps: steps.map((s) => ({ id: s.id, op: s.op })),
    show: show,
    current: () => steps[cur].id,
    step: () => cur,
  };
  buildStrip();
  buildAttention();
  details();
  const fit = Math.min(box.clientWidth / full.w, box.clientHeight / full.h);
  show(0);
  if (fit < 0.75) {  // too small to read when fitted: start at natural size on the first step
    setView({ x: full.x, y: full.y, w: box.clientWidth / 1.25, h: box.clientHeight / 1.25 });
    reveal(steps[0].id, true);
  }
})();
"""

JS = JS_HEAD + PANELS_JS + JS_TAIL  # one function scope: the panels use the helpers above


def page(title: str, svg: str, data_json: str) -> str:
    """The whole page: `svg` (prepared by `viz.explore.prepare_svg`), the data as JSON, CSS and script."""
    t = html.escape(title)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t}</title>
<style>{CSS}</style></head>
<body>
<header><h1>{t}</h1>
<button id="first" title="first step (Home)">&laquo;</button>
<button id="prev" title="previous (&larr;)">&lsaquo; prev</button>
<input id="slider" type="range" min="0" max="0" value="0" aria-label="backward step">
<button id="next" title="next (&rarr;)">next &rsaquo;</button><button id="last" title="last step (End)">&raquo;</button>
<span id="pos"></span>
<button id="zin" title="zoom in">+</button><button id="zout" title="zoom out">&minus;</button>
<button id="fit">fit</button>
<span class="hint">arrow keys step &middot; wheel zooms &middot; drag pans &middot; click a node</span></header>
<main><div id="graph">{svg}</div>
<aside><div id="explain"></div><div id="strip"></div><div id="attention"></div>
<h2>node</h2><div id="details"></div></aside></main>
<div id="tip" hidden></div>
<script type="application/json" id="tg-data">{data_json}</script>
<script>{JS}</script>
</body></html>
"""


__all__ = ["page", "CSS", "JS"]
