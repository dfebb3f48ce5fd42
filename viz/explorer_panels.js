// The explorer's side panels and stepping: the arithmetic of a step (or of a closed call), heat maps,
// the time strip, attention, and `window.tinygradAttn`. Runs in the scope of explorer.js.

// ---- arrays as the lecture writes them: numbers up to 4 x 4, a heat map beyond -----------------------
function toWin(S) {  // a summary {s, n, v} as rows of a matrix (a vector is one row)
  const cols = S.s.length ? S.s[S.s.length - 1] || 1 : 1, rows = Math.max(1, Math.round(S.n / cols));
  const v = [];
  for (let r = 0; r * cols < S.v.length && r < 12; r++) v.push(S.v.slice(r * cols, r * cols + Math.min(cols, 12)));
  return { r: rows, c: cols, v, partial: S.v.length < S.n };
}
function matrixEl(W, parent, cap) {  // W: {r, c, v rows}
  if (W.r <= 4 && W.c <= 4 && !W.partial) {
    const t = el("table", null, "mat", parent);
    for (const row of W.v) { const tr = el("tr", null, null, t); for (const x of row) el("td", x === null ? "\u00b7" : fmt(x), null, tr); }
    return t;
  }
  const wrap = el("span", null, "matwrap", parent);
  heatRows(wrap, W.v, cap || (W.r + "\u00d7" + W.c + (W.r > 12 || W.c > 12 ? " (first 12\u00d712)" : "")));
  return wrap;
}
function heatRows(parent, rows, label, top) {
  const R = rows.length, C = Math.max(1, ...rows.map((r) => r.length));
  const cell = Math.max(3, Math.min(14, Math.floor(150 / C), Math.floor(120 / R)));
  const c = el("canvas", null, "heat");
  c.width = C * cell; c.height = R * cell;
  const ctx = c.getContext("2d");
  let m = top || 0;
  if (!top) for (const row of rows) for (const x of row) if (Number.isFinite(num(x))) m = Math.max(m, Math.abs(num(x)));
  rows.forEach((row, i) => row.forEach((x, j) => {
    const v = num(x), u = m > 0 && Number.isFinite(v) ? v / m : 0, w = Math.round(255 * (1 - Math.abs(u)));
    ctx.fillStyle = x === null ? "#dddddd" : Number.isFinite(v) ? "rgb(" + (u >= 0 ? [255, w, w] : [w, w, 255]).join(",") + ")" : "#ff3ea5";
    ctx.fillRect(j * cell, i * cell, cell, cell);
  }));
  parent.appendChild(c);
  el("div", label + ", \u00b1" + fmt(m), "cap", parent);
}
function heat(parent, S, label, top) {  // a whole summary as a heat map (details panel, attention)
  const W = toWin(Object.assign({}, S, { v: S.v }));
  const cols = Math.max(1, Math.min(S.s.length ? S.s[S.s.length - 1] : 1, S.v.length)), rows = [];
  for (let i = 0; i < S.v.length; i += cols) rows.push(S.v.slice(i, i + cols));
  el("div", label, "cap", parent);
  heatRows(parent, rows.length ? rows : [[0]], shape(S.s) + (S.v.length < S.n ? ": first " + S.v.length + " of " + S.n : "") +
    "; red > 0 > blue", top);
  return W;
}
function valueEl(S, parent) {  // one number, a short vector, a small matrix, or a heat map with statistics
  if (S.n === 1) return el("span", fmt(S.v[0]), "num", parent);
  if (S.s.length <= 1 && S.n <= 8) return el("span", list(S), "num", parent);
  const W = toWin(S);
  if (W.r <= 4 && W.c <= 4 && !W.partial) return matrixEl(W, parent);
  const span = el("span", null, "matwrap", parent);
  matrixEl(W, span, shape(S.s) + (W.partial ? ", first values" : ""));
  el("div", stats(S), "cap", span);
  return span;
}
function eqRow(parent, parts) {  // a row of [text | element-maker] laid side by side
  const row = el("div", null, "eqrow", parent);
  for (const p of parts) { if (typeof p === "string") el("span", p, "op", row); else p(row); }
  return row;
}

// ---- the arithmetic of one engine step --------------------------------------------------------------
function explain(k) {
  const box = $("explain");
  box.textContent = "";
  const vid = visibleOf(steps[k].node);
  if (vid.startsWith("tg-g")) explainGroup(Number(vid.slice(4)), k, box);
  else explainStep(k, box);
}
function explainStep(k, box) {
  const s = steps[k], t = T[NODES[s.node].t], name = dname(t);
  el("div", "Step " + (k + 1) + " of " + N + ": " + s.op + (t.scope ? "   [" + t.scope + "]" : "") +
    (s.run ? "   run " + (s.run + 1) : ""), "head", box);
  el("div", "The gradient arrives at " + t.name + " " + shape(t.value.s) + ":", "", box);
  if (s.g.n === 1) el("div", name + " = " + fmt(s.g.v[0]), "eq", box);
  else if (s.g.n <= 8) el("div", name + " = " + list(s.g), "eq", box);
  else eqRow(box, [name + " =", (p) => valueEl(s.g, p)]);
  if (k === 0 && s.nparts === 0) el("div", "the start of backward: d" + t.name + "/d" + t.name + " = 1", "note", box);
  else if (s.nparts === 1) el("div", "from " + steps[s.parts[0][0]].op + " (step " + (s.parts[0][0] + 1) + ")", "note", box);
  else if (s.nparts > 1) fanIn(box, name, s.parts.map((p) => [p[0], steps[p[0]].ins[p[1]].c]), s.nparts, s.g, "");
  const r = D.rules[s.rule];
  el("div", "Backward rule of " + s.op + ": " + (r.doc || "").split("\n")[0], "muted", box);
  s.ins.forEach((inp, i) => contribution(box, k, inp, i));
}
// a sum of contributions: numbers added, vectors added element by element (one row each, then the sum)
function fanIn(box, name, parts, total, sum, tail) {
  const more = total > parts.length ? "... + " : "";
  if (parts.every((p) => p[1].n === 1) && sum.n === 1) {
    el("div", name + " = " + more + parts.map((p) => fmt(p[1].v[0])).join(" + ") + " = " + fmt(sum.v[0]) + tail, "eq", box);
  } else {
    el("div", name + " = the sum of " + total + " contributions, element by element" + tail + ":", "", box);
    const t = el("table", null, "sum", box), cols = Math.min(8, sum.v.length);
    const row = (sign, S, from) => {
      const tr = el("tr", null, null, t);
      el("td", sign, "sign", tr);
      for (let j = 0; j < cols; j++) el("td", fmt(S.v[j]), null, tr);
      if (S.n > cols) el("td", "\u2026", null, tr);
      el("td", from, "from", tr);
    };
    if (more) row("", { v: [], n: 0 }, "(" + (total - parts.length) + " earlier)");
    parts.forEach((p, j) => row(j || more ? "+" : "", p[1], steps[p[0]].op + " (step " + (p[0] + 1) + ")"));
    row("=", sum, sum.n > cols ? "first " + cols + " of " + sum.n + " elements" : "");
    t.lastChild.className = "total";
    return;
  }
  el("div", "from " + parts.map((p) => steps[p[0]].op + " (step " + (p[0] + 1) + ")").join(", "), "note", box);
}
const dfmt = (x) => (x === null ? "\u00b7" : fmt(x));  // a derivative the record cannot tell (incoming 0)
function contribution(box, k, inp, i) {
  const s = steps[k], p = inp.t === null ? null : T[inp.t], d = el("div", null, "inp", box);
  const out = T[s.node];
  if (!p) { el("div", "Input " + i + ": a constant (not drawn): no gradient needed", "muted", d); return; }
  el("div", "Input " + i + ": " + p.name + " " + shape(p.value.s), "", d);
  if (!inp.c) { el("div", p.rg ? "no gradient passed to it" : "constant: no gradient needed", "muted", d); return; }
  const g = s.g, c = inp.c, mm = s.mm && s.mm[i];
  if (mm) {
    const o = s.ins[1 - i].t, other = o === null ? (i === 0 ? "B" : "A") : T[o].name;
    const rule = i === 0 ? dname(p) + " = " + dname(out) + " \u00b7 " + other + "\u1d40"
      : dname(p) + " = " + other + "\u1d40 \u00b7 " + dname(out);
    el("div", rule + "   (backprop through a product multiplies by the transpose)", "eq", d);
    eqRow(d, [(q) => matrixEl(mm.lhs, q), "\u00b7", (q) => matrixEl(mm.rhs, q), "=", (q) => matrixEl(mm.out, q)]);
    if (mm.batch) el("div", mm.batch, "note", d);
    else if (p.value.s.length > 2 || out.value.s.length > 2) el("div", "rows of every batch element stacked: the product sums over them", "note", d);
  } else if (inp.kind === "scalar") {
    if (!inp.d) {
      el("div", fmt(g.v[0]) + " \u00d7 \u00b7 = " + fmt(c.v[0]), "eq", d);
      el("div", "incoming \u00d7 local derivative = contribution; " + inp.why, "note", d);
    } else {
      el("div", fmt(g.v[0]) + " \u00d7 " + fmt(inp.d.v[0]) + " = " + fmt(c.v[0]), "eq", d);
      el("div", "incoming \u00d7 local derivative = contribution", "note", d);
    }
  } else if (inp.kind === "elementwise" && c.n <= 8) {
    const dv = inp.d ? inp.d.v : c.v.map(() => null);
    el("div", list(g) + " \u2299 [" + dv.map(dfmt).join(", ") + "] = " + list(c), "eq", d);
    el("div", "incoming \u2299 local derivative (element by element) = contribution", "note", d);
    if (!inp.d) el("div", "\u00b7: " + inp.why, "note", d);
    else if (inp.d.zero) el("div", "\u00b7: the incoming gradient is 0 there, so the record cannot tell the derivative (0 / 0); the contribution there is 0", "note", d);
  } else {
    if (inp.kind === "elementwise" && !inp.d) el("div", inp.why, "note", d);
    else if (inp.kind === "elementwise") {
      el("div", "local derivative (element by element): " + stats(inp.d) + (inp.d.zero ? "  (over the " + (c.n - inp.d.zero) +
        " elements where the incoming gradient is not 0; at the other " + inp.d.zero + " it is 0, and so is the contribution)" : ""), "note", d);
    } else if (inp.kind === "reduced") el("div", "element by element, then summed over the broadcast axes to " + shape(c.s), "note", d);
    const gain = num(g.norm) > 0 ? fmt(num(c.norm) / num(g.norm)) : "\u00b7";
    el("div", "||incoming|| " + fmt(g.norm) + " -> ||contribution|| " + fmt(c.norm) + ";  gain " + gain, "eq", d);
    eqRow(d, ["contribution =", (q) => valueEl(c, q)]);
  }
  if (inp.n > 1) {
    const nm = dname(p) + (inp.k < inp.n ? " so far" : "");
    const tail = "   (" + inp.k + " of " + inp.n + " contributions)";
    if (inp.k === 1) el("div", "first of " + inp.n + " contributions to " + p.name + "; the others arrive later", "note", d);
    else fanIn(d, nm, inp.prev.map((q) => [q[0], steps[q[0]].ins[q[1]].c]).concat([[k, c]]), inp.k, inp.cum, tail);
  } else if (p.leaf) el("div", "all of " + p.name + ".grad", "note", d);
}

// ---- a closed call: what went in and out of it in these steps -----------------------------------------
function runOf(k) {  // the steps around k shown by the same closed group (one step when k's box is drawn)
  const vid = visibleOf(steps[k].node);
  if (!vid.startsWith("tg-g")) return [k, k];
  let a = k, b = k;
  while (a > 0 && steps[a - 1].run === steps[k].run && visibleOf(steps[a - 1].node) === vid) a--;
  while (b < N - 1 && steps[b + 1].run === steps[k].run && visibleOf(steps[b + 1].node) === vid) b++;
  return [a, b];
}
function explainGroup(g, k, box) {
  const G = GROUPS[g], [a, b] = runOf(k);
  const run = G.runs.find((r) => r.first <= k && k <= r.last) || { ins: [] };
  el("div", (a === b ? "Step " + (a + 1) : "Steps " + (a + 1) + "\u2013" + (b + 1)) + " of " + N + ": " + G.label, "head", box);
  el("div", G.title + ": " + G.size + " nodes drawn as one box; click it to open it and step through its ops", "muted", box);
  for (const o of G.outs) {
    const s = steps.slice(a, b + 1).find((x) => x.node === o);
    if (!s) continue;
    el("div", "The gradient arrives at its output " + T[NODES[o].t].name + " " + shape(s.g.s) + ":", "", box);
    eqRow(box, [dname(T[NODES[o].t]) + " =", (q) => valueEl(s.g, q)]);
  }
  for (const [i, S] of run.ins) {
    const p = T[NODES[i].t], d = el("div", null, "inp", box);
    el("div", "It passes to its input " + p.name + " " + shape(p.value.s) + ":", "", d);
    eqRow(d, [dname(p) + " =", (q) => valueEl(S, q)]);
  }
  const ops = steps.slice(a, b + 1).map((x) => x.op);
  el("div", "Inside, in the engine's order: " + ops.slice(0, 14).join(" \u2192 ") + (ops.length > 14 ? " \u2192 \u2026" : ""), "note", box);
}

// ---- details of a clicked box: heat maps and the backward rule ------------------------------------------
function select(i, id) {
  if (selected !== null && $(selected)) $(selected).classList.remove("tg-sel");
  selected = id;
  selectedNode = i;
  if ($(id)) $(id).classList.add("tg-sel");
  details();
}
let selectedNode = null;
function details() {
  const out = $("details");
  out.textContent = "";
  if (selectedNode === null) { el("div", "Click a box for its numbers and its op's backward rule.", "muted", out); return; }
  const t = T[NODES[selectedNode].t];
  el("div", t.name + "  " + shape(t.value.s) + "  " + t.dtype, "head", out);
  heat(out, t.value, "value");
  if (t.rg) {
    const g = gradAt(selectedNode, cur);
    if (g) heat(out, g.S, "gradient " + dname(t) + " at step " + (cur + 1) + " (" + g.note + ")");
    else el("div", "gradient: not reached yet at step " + (cur + 1), "muted", out);
  }
  if (t.rule === null) { el("div", "a leaf: backward adds every contribution into its .grad", "muted", out); return; }
  const r = D.rules[t.rule];
  el("div", "backward rule of " + r.name + ": " + (r.doc || "").split("\n")[0], "", out);
  el("pre", r.src || "(no source)", "src", out);
}

// ---- the time-step strip: ||dL/dh_t|| on a log scale ---------------------------------------------------
const bars = [], markers = [];
function buildStrip() {
  const out = $("strip");
  if (!D.strip.length) { out.hidden = true; return; }
  el("h2", "||dL/dh_t|| per time step (log scale)", "", out);
  for (const grp of D.strip) {
    if (grp.group) el("div", grp.group, "cap", out);
    const n = grp.items.length, w = Math.min(22, 400 / n), H = 64;
    const s = document.createElementNS(SVGNS, "svg");
    s.setAttribute("width", Math.ceil(n * w) + 2); s.setAttribute("height", H + 14);
    grp.items.forEach((it, i) => {
      const r = svgEl("rect", { class: "bar", x: i * w + 1, width: Math.max(0.6, w > 3 ? w - 1 : w) }, s);
      r.addEventListener("click", () => { show(it.step); reveal(curEl, true); });
      const title = svgEl("title", {}, r);
      bars.push({ r, it, title, H, state: "" });
      if (n <= 30 || i % Math.ceil(n / 8) === 0 || i === n - 1) {
        const tx = svgEl("text", { x: i * w + w / 2 + 1, y: H + 12, "font-size": 9, "text-anchor": "middle" }, s);
        tx.textContent = it.t;
      }
    });
    const m = svgEl("rect", { y: 0, height: H, width: Math.max(2, w), fill: "none", stroke: "#ff7f0e", "stroke-width": 2 }, s);
    m.style.pointerEvents = "none";
    markers.push({ m, w });
    el("div", null, "row", out).appendChild(s);
  }
  el("div", "t below each bar; click a bar to go to that step. Bars from " + fmt(10 ** D.scale[0]) + " to " +
    fmt(10 ** D.scale[1]) + "; grey: not reached yet.", "cap", out);
}
function paintStrip(k) {
  const [lo, hi] = D.scale, here = steps[k].tk;
  for (const b of bars) {
    const reached = b.it.step <= k, state = reached ? "r" : "p";
    if (state === b.state) continue;
    b.state = state;
    const v = num(b.it.norm);
    const u = reached && v > 0 ? Math.max(0.04, Math.min(1, (Math.log10(v) - lo) / ((hi - lo) || 1))) : 1;
    const h = Math.max(2, u * b.H);
    b.r.setAttribute("y", b.H - h); b.r.setAttribute("height", h);
    b.r.setAttribute("fill", reached ? b.it.fill : "#eeeeee");
    b.title.textContent = "t=" + b.it.t + " " + b.it.name + ": " +
      (reached ? "||dL/dh|| = " + fmt(v) : "not reached yet") + " (step " + (b.it.step + 1) + ")";
  }
  markers.forEach((x, gi) => {
    const on = !!here && here[0] === gi && here[1] !== null;
    x.m.style.display = on ? "" : "none";
    if (on) x.m.setAttribute("x", here[1] * x.w + 1 - Math.max(0, (2 - x.w) / 2));
  });
}

// ---- attention weights next to their gradient -----------------------------------------------------------
const attn = [];
function buildAttention() {
  const out = $("attention");
  if (!D.attention.length) { out.hidden = true; return; }
  el("h2", "attention weights and dL/dweights", "", out);
  for (const a of D.attention) {
    const row = el("div", null, "attn", out), left = el("div", null, "", row), right = el("div", null, "", row);
    heat(left, a.w, a.label + ": weights", 1);
    row.addEventListener("click", () => { show(a.step); reveal(curEl, true); });
    attn.push({ a, row, right, shown: null });
  }
}
function paintAttention(k) {
  for (const x of attn) {
    const reached = x.a.step <= k;
    x.row.classList.toggle("cur", x.a.step === k);
    if (x.shown === reached) continue;
    x.shown = reached; x.right.textContent = "";
    if (reached) heat(x.right, steps[x.a.step].g, "dL/dweights (step " + (x.a.step + 1) + ")");
    else el("div", "dL/dweights: not reached yet (step " + (x.a.step + 1) + ")", "muted", x.right);
  }
}

// ---- stepping ---------------------------------------------------------------------------------------
let marked = [];
function mark(e, cls) { if (e) { e.classList.add(cls); marked.push([e, cls]); } }
function show(k) {
  k = Math.max(0, Math.min(N - 1, Math.round(Number(k)) || 0));
  cur = k;
  const s = steps[k];
  curEl = visibleOf(s.node);
  paintAll(k);
  for (const [e, cls] of marked) e.classList.remove(cls);
  marked = [];
  const from = new Set();
  for (const inp of s.ins) if (inp.c && inp.t !== null) { const v = visibleOf(inp.t); if (v !== curEl) { from.add(v); mark($(v), "tg-in"); } }
  mark($(curEl), "tg-cur");
  for (const e of edgesTo[curEl] || []) if (from.has(e.dataset.s) || curEl.startsWith("tg-g")) mark(e, "tg-flow");
  for (const e of document.querySelectorAll(".node.port")) if (from.has(e.id) && e.closest) mark(e, "tg-in");
  const [a, b] = runOf(k);
  $("slider").value = k;
  $("pos").textContent = (a === b ? "step " + (k + 1) : "steps " + (a + 1) + "\u2013" + (b + 1)) + " / " + N;
  explain(k);
  paintStrip(k);
  paintAttention(k);
  if (selectedNode !== null) details();
  drawMinimapBase();
  reveal(curEl, false);
  return curEl;
}
const next = () => show(runOf(cur)[1] + 1);
const prev = () => { const a = runOf(cur)[0]; if (a > 0) show(runOf(a - 1)[0]); };
$("prev").onclick = prev;
$("next").onclick = next;
$("first").onclick = () => show(0);
$("last").onclick = () => show(N - 1);
$("slider").max = N - 1;
$("slider").addEventListener("input", (e) => show(e.target.value));
document.addEventListener("keydown", (e) => {
  if (e.target === $("slider")) return;
  if (e.key === "ArrowLeft" || e.key === "ArrowUp") { prev(); e.preventDefault(); }
  if (e.key === "ArrowRight" || e.key === "ArrowDown") { next(); e.preventDefault(); }
  if (e.key === "Home") show(0);
  if (e.key === "End") show(N - 1);
});

window.tinygradAttn = {
  steps: steps.map((s) => ({ id: s.id, op: s.op })),
  show: show,
  current: () => curEl,
  step: () => cur,
  groups: () => GROUPS.map((G, g) => ({ id: groupId(g), label: G.label, kind: G.kind, open: open[g] })),
  toggle: (id) => { toggle(Number(String(id).replace("tg-g", ""))); return curEl; },
  boxes: () => vis.length,
};
const loadTime = render();
buildStrip();
buildAttention();
details();
show(0);
if (Math.min((box.clientWidth - 40) / Math.max(1, worldW), (box.clientHeight - 40) / Math.max(1, worldH)) >= 1) fit();
else { setView({ s: 1, x: 0, y: 0 }); reveal(curEl, true); }  // the first step at natural size
window.tinygradAttn.layoutMs = loadTime;
