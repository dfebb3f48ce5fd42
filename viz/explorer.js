// The explorer page: boxes laid out by explorer_layout.js, calls opened and closed in place, step k painted
// from each box's colour events (so it shows nothing of the steps after k). Panels: explorer_panels.js.

const D = JSON.parse(document.getElementById("tg-data").textContent);
const $ = (id) => document.getElementById(id);
const SVGNS = "http://www.w3.org/2000/svg";
const steps = D.steps, T = D.tensors, NODES = D.nodes, GROUPS = D.groups, N = steps.length, P = D.pending;
const num = (x) => (typeof x === "string" ? Number(x) : x);
let cur = 0, curEl = null, selected = null;

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
function el(tag, text, cls, parent) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = text;
  if (cls) e.className = cls;
  if (parent) parent.appendChild(e);
  return e;
}
function svgEl(tag, attrs, parent) {
  const e = document.createElementNS(SVGNS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}
function lastEvent(ev, k) {
  let lo = 0, hi = ev.length;
  while (lo < hi) { const m = (lo + hi) >> 1; if (ev[m][0] <= k) lo = m + 1; else hi = m; }
  return lo ? ev[lo - 1] : null;
}
const dname = (t) => "dL/d" + (/\s/.test(t.name) ? "(" + t.name + ")" : t.name);

// ---- the call tree: which groups hold a node, which are open ---------------------------------------
const open = GROUPS.map((g) => g.open);
const chainOf = NODES.map((n) => {  // groups holding the node, outermost first
  const c = [];
  for (let g = n.g; g !== -1; g = GROUPS[g].parent) c.unshift(g);
  return c;
});
const nodeId = (i) => "tg-n" + i, groupId = (g) => "tg-g" + g, portId = (g, i) => "tg-p" + g + "-" + i;
function visibleOf(i) {  // the element showing node i now: its box, or the outermost closed group holding it
  for (const g of chainOf[i]) if (!open[g]) return groupId(g);
  return nodeId(i);
}
function itemAt(i, level) {  // the item of `level` (a group, -1 top) holding node i: ["n", i] or ["g", child]
  const c = chainOf[i], at = level === -1 ? -1 : c.indexOf(level);
  if (level !== -1 && at < 0) return null;
  return at + 1 < c.length ? ["g", c[at + 1]] : ["n", i];
}

// ---- sizes of the boxes ------------------------------------------------------------------------
const measureCtx = document.createElement("canvas").getContext("2d");
const FONT = "12px sans-serif", BOLD = "600 12px sans-serif";
function tw(text, bold) { measureCtx.font = bold ? BOLD : FONT; return measureCtx.measureText(text).width; }
const PAD = 10, HEAD = 22, BOX_H = 38, PORT_H = 22;
function nodeLines(i) {
  const t = T[NODES[i].t];
  const head = (t.named || t.leaf ? t.name : t.op) + "  " + shape(t.value.s);
  const prefix = t.named && t.op ? t.op + " \u00b7 " : "";
  return [head, prefix];
}
const longestGrad = (ev) => ev.reduce((a, e) => (e[3].length > a.length ? e[3] : a), "|grad| pending");
const sizes = {};
function nodeSize(i) {
  if (!sizes["n" + i]) {
    const [head, prefix] = nodeLines(i);
    sizes["n" + i] = { w: Math.ceil(Math.max(tw(head, true), tw(prefix + longestGrad(NODES[i].ev))) + 18), h: BOX_H };
  }
  return sizes["n" + i];
}
function groupLines(g) {
  const G = GROUPS[g];
  return ["\u25b8 " + G.label, G.size + " nodes \u00b7 "];
}
function closedSize(g) {
  if (!sizes["g" + g]) {
    const [head, prefix] = groupLines(g);
    sizes["g" + g] = { w: Math.ceil(Math.max(tw(head, true), tw(prefix + longestGrad(GROUPS[g].ev))) + 22), h: BOX_H };
  }
  return sizes["g" + g];
}
const portName = (i) => { const t = T[NODES[i].t]; return t.named || t.leaf ? t.name : t.op; };

// ---- layout: each level of the tree on its own, open groups as big boxes --------------------------
function layoutLevel(level) {
  const items = [], index = new Map();
  const add = (key, item) => { index.set(key, items.length); items.push(item); };
  const direct = level === -1 ? NODES.map((n, i) => i).filter((i) => NODES[i].g === -1) : GROUPS[level].nodes;
  const kids = level === -1 ? GROUPS.map((g, i) => i).filter((i) => GROUPS[i].parent === -1) : GROUPS[level].children;
  if (level !== -1) for (const i of GROUPS[level].ins) add("p" + i, { kind: "p", i, w: Math.ceil(tw(portName(i)) + 14), h: PORT_H, fixed0: true });
  for (const i of direct) add("n" + i, Object.assign({ kind: "n", i }, nodeSize(i)));
  for (const g of kids) {
    if (open[g]) {
      const sub = layoutLevel(g);
      add("g" + g, { kind: "g", i: g, open: true, sub, w: Math.max(sub.w + 2 * PAD, tw("\u25be " + GROUPS[g].label, true) + 20), h: sub.h + HEAD + 2 * PAD });
    } else add("g" + g, Object.assign({ kind: "g", i: g, open: false }, closedSize(g)));
  }
  const pairs = new Map();  // "a,b" -> [a, b, [[src node, dst node], ...]]
  for (const [s, d] of D.edges) {
    const di = itemAt(d, level);
    if (!di) continue;
    let si = itemAt(s, level);
    if (!si) si = level === -1 ? null : ["p", s];
    if (!si) continue;
    const a = index.get(si[0] + si[1]), b = index.get(di[0] + di[1]);
    if (a === undefined || b === undefined || a === b) continue;
    const key = a + "," + b;
    if (!pairs.has(key)) pairs.set(key, [a, b, []]);
    pairs.get(key)[2].push([s, d]);
  }
  let edges = Array.from(pairs.values());
  const fan = new Map();  // a box feeding four or more groups of this level: no lines, a note on it
  for (const [a, b] of edges) if (items[a].kind !== "g" && items[b].kind === "g") fan.set(a, (fan.get(a) || 0) + 1);
  edges = edges.filter(([a, b]) => !(items[b].kind === "g" && (fan.get(a) || 0) >= 4));
  for (const [a, k] of fan) if (k >= 4) items[a].fan = k;
  const res = layered(items, edges.map((e) => [e[0], e[1]]), { gapx: 34, gapy: 12 });
  return { items, edges, res, w: res.w, h: res.h };
}

// ---- drawing: absolute boxes, SVG elements ---------------------------------------------------------
const svg = $("canvas"), world = $("world");
let layout = null, boxes = {}, vis = [], edgesTo = {}, worldW = 0, worldH = 0;
function place(lv, ox, oy, out) {
  lv.items.forEach((it, k) => {
    const x = ox + lv.res.x[k], y = oy + lv.res.y[k];
    it.ax = x; it.ay = y;
    const id = it.kind === "n" ? nodeId(it.i) : it.kind === "g" ? groupId(it.i) : portId(out.level, it.i);
    it.id = id;
    boxes[id] = { x, y, w: it.w, h: it.h };
    if (it.kind === "g" && it.open) {
      const saved = out.level;
      out.level = it.i;
      place(it.sub, x + PAD, y + HEAD + PAD, out);
      out.level = saved;
    }
  });
}
function render() {
  const t0 = performance.now();
  layout = layoutLevel(-1);
  boxes = {};
  place(layout, 0, 0, { level: -1 });
  worldW = layout.w; worldH = layout.h;
  world.textContent = "";
  vis = []; edgesTo = {};
  const frames = svgEl("g", { class: "frames" }, world), lines = svgEl("g", { class: "lines" }, world);
  const front = svgEl("g", { class: "boxes" }, world);
  drawLevel(layout, -1, frames, lines, front);
  for (const v of vis) v.state = -2;
  paintAll(cur);
  drawMinimapBase();
  return performance.now() - t0;
}
function anchorOut(it, s) {  // where an edge leaves: the box, or inside an open group the box showing node s
  const b = it.kind === "g" && it.open ? boxes[visibleOf(s)] || boxes[it.id] : boxes[it.id];
  return [b.x + b.w, b.y + b.h / 2];
}
function drawLevel(lv, level, frames, lines, front) {
  lv.items.forEach((it) => {
    if (it.kind === "g" && it.open) drawFrame(it, frames), drawLevel(it.sub, it.i, frames, lines, front);
    else drawBox(it, front, level);
  });
  lv.edges.forEach(([a, b, pairs], e) => {
    const A = lv.items[a], B = lv.items[b], [s] = pairs[0];
    const start = anchorOut(A, s);
    let endBox = boxes[B.id], toId = B.id;
    if (B.kind === "g" && B.open) { toId = portId(B.i, s); endBox = boxes[toId] || endBox; }
    const route = lv.res.routes[e] || [];
    const ox = A.ax - lv.res.x[a], oy = A.ay - lv.res.y[a];
    const pts = [start].concat(route.map(([x, y]) => [x + ox, y + oy]), [[endBox.x, endBox.y + endBox.h / 2]]);
    const path = svgEl("path", { d: curve(pts), class: "edge" }, lines);
    path.dataset.s = A.kind === "g" && A.open ? visibleOf(s) : A.id;
    path.dataset.d = toId;
    (edgesTo[toId] = edgesTo[toId] || []).push(path);
  });
}
function drawFrame(it, parent) {
  const G = GROUPS[it.i], g = svgEl("g", { id: it.id, class: "frame " + G.kind }, parent);
  svgEl("rect", { x: it.ax, y: it.ay, width: it.w, height: it.h, rx: 6 }, g);
  const head = svgEl("g", { class: "head" }, g);
  svgEl("rect", { x: it.ax, y: it.ay, width: it.w, height: HEAD, rx: 6 }, head);
  const tx = svgEl("text", { x: it.ax + 8, y: it.ay + 15 }, head);
  tx.textContent = "\u25be " + G.label;
  head.addEventListener("click", (e) => { if (!moved) { e.stopPropagation(); toggle(it.i); } });
  head.addEventListener("mouseenter", () => tipFor(() => [["b", G.title], ["", "click the title bar to close"]]));
  head.addEventListener("mouseleave", hideTip);
}
function drawBox(it, parent, level) {
  const x = it.ax, y = it.ay;
  let cls, lines, ev, prefix = "";
  if (it.kind === "n") {
    const t = T[NODES[it.i].t];
    cls = "node " + (t.leaf ? (t.rg ? "leaf" : "const") : "op");
    [lines, prefix] = [nodeLines(it.i)[0], nodeLines(it.i)[1]];
    ev = NODES[it.i].ev;
  } else if (it.kind === "g") {
    cls = "node closed " + GROUPS[it.i].kind;
    [lines, prefix] = groupLines(it.i);
    ev = GROUPS[it.i].ev;
  } else {
    cls = "node port";
    lines = portName(it.i);
    ev = NODES[it.i].ev;
  }
  const g = svgEl("g", { id: it.id, class: cls }, parent);
  const rect = svgEl("rect", { x, y, width: it.w, height: it.h, rx: it.kind === "p" ? 9 : 4 }, g);
  if (it.kind === "g") svgEl("rect", { x: x + 3, y: y + 3, width: it.w - 6, height: it.h - 6, rx: 3, class: "inner" }, g);
  const t1 = svgEl("text", { x: x + 9, y: y + (it.kind === "p" ? 15 : 15), class: it.kind === "p" ? "" : "b" }, g);
  t1.textContent = lines;
  let gl = null;
  if (it.kind !== "p") {
    gl = svgEl("text", { x: x + 9, y: y + 31 }, g);
    gl.textContent = prefix + "|grad| pending";
  }
  if (it.fan) {
    const f = svgEl("text", { x: x + it.w - 4, y: y - 3, class: "fan", "text-anchor": "end" }, g);
    f.textContent = "\u2192 " + it.fan + " groups";
  }
  vis.push({ id: it.id, g, rect, texts: [t1].concat(gl ? [gl] : []), gl, prefix, ev, state: -2, kind: it.kind, i: it.i });
  g.addEventListener("mouseenter", () => tipFor(() => describe(it)));
  g.addEventListener("mousemove", moveTip);
  g.addEventListener("mouseleave", hideTip);
  g.addEventListener("click", (e) => {
    if (moved) return;
    e.stopPropagation();
    if (it.kind === "g") toggle(it.i, e);
    else select(it.i, it.id);
  });
}

// ---- colours at step k -------------------------------------------------------------------------
function paint(v, k) {
  const ev = v.ev;
  const e = ev && ev.length ? lastEvent(ev, k) : null;
  const state = e ? ev.indexOf(e) : -1;
  if (state === v.state) return;
  v.state = state;
  if (e) {
    v.rect.setAttribute("fill", e[1]);
    v.rect.classList.remove("pending");
    for (const t of v.texts) t.setAttribute("fill", e[2]);
    if (v.gl) v.gl.textContent = v.prefix + e[3];
  } else {
    v.rect.setAttribute("fill", P.fill);
    v.rect.classList.add("pending");
    for (const t of v.texts) t.setAttribute("fill", P.text);
    if (v.gl) v.gl.textContent = v.prefix + "|grad| pending";
  }
}
function paintAll(k) { for (const v of vis) paint(v, k); }

// ---- pan and zoom: a transform on the world --------------------------------------------------------
const READABLE = 0.67;  // the smallest scale "fit" goes to: 12 px text stays 8 px
let view = { s: 1, x: 0, y: 0 };
const box = $("graph");
function setView(v) {
  view = v;
  world.setAttribute("transform", "translate(" + v.x.toFixed(1) + "," + v.y.toFixed(1) + ") scale(" + v.s.toFixed(4) + ")");
  drawMinimapView();
}
function zoomAt(f, cx, cy) {
  const r = box.getBoundingClientRect(), px = cx - r.left, py = cy - r.top;
  const s = Math.min(3, Math.max(0.1, view.s * f));
  setView({ s, x: px - (px - view.x) * (s / view.s), y: py - (py - view.y) * (s / view.s) });
}
function centreOn(b, s) {
  s = s || view.s;
  setView({ s, x: box.clientWidth / 2 - (b.x + b.w / 2) * s, y: box.clientHeight / 2 - (b.y + b.h / 2) * s });
}
function reveal(id, centre) {
  const b = id && boxes[id];
  if (!b) return;
  const sx = b.x * view.s + view.x, sy = b.y * view.s + view.y, W = box.clientWidth, H = box.clientHeight;
  const inside = sx > W * 0.05 && sx + b.w * view.s < W * 0.95 && sy > H * 0.05 && sy + b.h * view.s < H * 0.95;
  if (centre || !inside) centreOn(b);
}
function fit() {
  const W = box.clientWidth, H = box.clientHeight;
  const s = Math.min(1.25, (W - 40) / Math.max(1, worldW), (H - 40) / Math.max(1, worldH));
  if (s >= READABLE) setView({ s, x: (W - worldW * s) / 2, y: (H - worldH * s) / 2 });
  else {  // the whole graph would be unreadable: as small as text stays readable, around the current step
    setView({ s: READABLE, x: 0, y: 0 });
    reveal(curEl, true);
  }
}
box.addEventListener("wheel", (e) => { e.preventDefault(); zoomAt(Math.exp(-e.deltaY * 0.0015), e.clientX, e.clientY); },
  { passive: false });
let drag = null, moved = false;
box.addEventListener("mousedown", (e) => {
  if (e.button !== 0 || e.target === $("minimap")) return;
  drag = { x: e.clientX, y: e.clientY, v: Object.assign({}, view) }; moved = false;
  box.classList.add("drag");
});
window.addEventListener("mousemove", (e) => {
  if (!drag) return;
  const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
  if (Math.abs(dx) + Math.abs(dy) > 3) moved = true;
  if (moved) setView({ s: drag.v.s, x: drag.v.x + dx, y: drag.v.y + dy });
});
window.addEventListener("mouseup", () => { drag = null; box.classList.remove("drag"); setTimeout(() => { moved = false; }, 0); });
$("fit").onclick = fit;
const zoomCentre = (f) => { const r = box.getBoundingClientRect(); zoomAt(f, r.left + r.width / 2, r.top + r.height / 2); };
$("zin").onclick = () => zoomCentre(1.4);
$("zout").onclick = () => zoomCentre(1 / 1.4);

// ---- the minimap: every box, and the part of the graph in view ---------------------------------------
const mini = $("minimap"), mctx = mini.getContext("2d", { willReadFrequently: true });
let miniScale = 1, miniBase = null;
function drawMinimapBase() {
  const big = worldW * view.s > box.clientWidth * 1.05 || worldH * view.s > box.clientHeight * 1.05 || worldW > box.clientWidth;
  mini.hidden = !big;
  if (!big) return;
  const h = Math.round(Math.max(40, Math.min(150, 8 + (212 * worldH) / Math.max(1, worldW))));
  if (mini.height !== h) { mini.height = h; miniBase = null; }
  miniScale = Math.min((mini.width - 8) / Math.max(1, worldW), (mini.height - 8) / Math.max(1, worldH));
  mctx.clearRect(0, 0, mini.width, mini.height);
  mctx.fillStyle = "#fafafa"; mctx.fillRect(0, 0, mini.width, mini.height);
  for (const v of vis) {
    const b = boxes[v.id];
    mctx.fillStyle = v.rect.getAttribute("fill") || "#fff";
    mctx.fillRect(4 + b.x * miniScale, 4 + b.y * miniScale, Math.max(1, b.w * miniScale), Math.max(1, b.h * miniScale));
  }
  miniBase = mctx.getImageData(0, 0, mini.width, mini.height);
  drawMinimapView();
}
function drawMinimapView() {
  if (mini.hidden || !miniBase) return;
  mctx.putImageData(miniBase, 0, 0);
  const x = (-view.x / view.s) * miniScale + 4, y = (-view.y / view.s) * miniScale + 4;
  mctx.strokeStyle = "#ff7f0e"; mctx.lineWidth = 2;
  mctx.strokeRect(x, y, (box.clientWidth / view.s) * miniScale, (box.clientHeight / view.s) * miniScale);
}
let miniDrag = false;
function miniMove(e) {
  const r = mini.getBoundingClientRect();
  const wx = (e.clientX - r.left - 4) / miniScale, wy = (e.clientY - r.top - 4) / miniScale;
  centreOn({ x: wx, y: wy, w: 0, h: 0 });
}
mini.addEventListener("mousedown", (e) => { e.stopPropagation(); miniDrag = true; miniMove(e); });
window.addEventListener("mousemove", (e) => { if (miniDrag) miniMove(e); });
window.addEventListener("mouseup", () => { miniDrag = false; });

// ---- opening and closing calls -------------------------------------------------------------------
function toggle(g, e) {
  const id = groupId(g), before = boxes[id];
  open[g] = !open[g];
  render();
  const after = boxes[id];
  if (before && after) setView({ s: view.s, x: view.x + (before.x - after.x) * view.s, y: view.y + (before.y - after.y) * view.s });
  show(cur);
}
$("openall").onclick = () => { open.fill(true); render(); show(cur); };
$("closeall").onclick = () => { GROUPS.forEach((G, g) => { open[g] = G.kind === "scope"; }); render(); fit(); show(cur); };

// ---- hover ----------------------------------------------------------------------------------------
const tip = $("tip");
function tipFor(lines) {
  tip.textContent = "";
  for (const [cls, text] of lines()) el("div", text, cls, tip);
  tip.hidden = false;
}
function moveTip(e) {
  tip.style.left = Math.min(e.clientX + 14, window.innerWidth - tip.offsetWidth - 8) + "px";
  tip.style.top = Math.min(e.clientY + 14, window.innerHeight - tip.offsetHeight - 8) + "px";
}
function hideTip() { tip.hidden = true; }
function describe(it) {
  if (it.kind === "g") {
    const G = GROUPS[it.i], e = lastEvent(G.ev, cur);
    return [["b", G.title], ["", G.size + " nodes; click to open"], ["", e ? "its output: " + e[3] : "no gradient yet"]];
  }
  const ti = NODES[it.i].t, t = T[ti], lines = [];
  if (it.kind === "p") lines.push(["muted", "comes in from outside this group"]);
  lines.push(["b", t.name + "  " + shape(t.value.s) + "  " + t.dtype + (t.scope ? "  [" + t.scope + "]" : "")]);
  lines.push(["", "value: " + stats(t.value)]);
  if (!t.rg) { lines.push(["muted", "gradient: not needed (constant)"]); return lines; }
  const g = gradAt(it.i, cur);
  lines.push(g ? ["", "gradient: " + stats(g.S)] : ["muted", "gradient: not reached yet"]);
  if (g) lines.push(["muted", g.note]);
  return lines;
}
// the gradient node i holds after step k: {S, note} or null (not reached yet)
function gradAt(i, k) {
  const ev = NODES[i].ev, e = ev && lastEvent(ev, k);
  if (!e) return null;
  const s = steps[e[0]];
  if (s.node === i) return { S: s.g, note: "arrived at step " + (e[0] + 1) };
  let best = null;
  for (const inp of s.ins) if (inp.t === i && inp.c && (!best || inp.k > best.k)) best = inp;
  if (!best) return null;
  const done = best.k === best.n ? "all " + best.n : best.k + " of " + best.n;
  return { S: best.cum || best.c, note: "sum of " + done + " contributions (after step " + (e[0] + 1) + ")" };
}
