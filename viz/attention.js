// The attention page: per map, lines from each query token (left) to each key token (right), drawn
// once with the weights and once with dL/d(weights), and both as heat maps. Our own script, no library.
const D = JSON.parse(document.getElementById("tg-data").textContent);
const NS = "http://www.w3.org/2000/svg", $ = (id) => document.getElementById(id);
const num = (x) => (typeof x === "string" ? Number(x) : x);
function fmt(x) {
  const v = num(x);
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e-3 && a < 1e4 ? String(Number(v.toPrecision(3))) : v.toExponential(2);
}
function svgEl(tag, attrs, parent) {
  const e = document.createElementNS(NS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}
const show = (t) => (t === " " ? "\u2423" : t);  // a visible space: padding is a token the model attends to
const ROW = 22, LEFT = 90, GAP = 170;
let current = 0;

function lines(svg, A, values, signed) {  // BertViz-style: opacity by |value| / max
  svg.textContent = "";
  const n = Math.max(A.queries.length, A.keys.length);
  svg.setAttribute("width", LEFT * 2 + GAP); svg.setAttribute("height", n * ROW + 10);
  let m = 0;
  for (const row of values) for (const x of row) m = Math.max(m, Math.abs(num(x)));
  const links = svgEl("g", {}, svg), out = [];
  values.forEach((row, i) => row.forEach((x, j) => {
    const v = num(x), u = m > 0 ? Math.abs(v) / m : 0;
    const colour = !signed ? "#1f5fa8" : v >= 0 ? "#d62728" : "#1f77b4";
    const l = svgEl("line", { x1: LEFT, y1: i * ROW + 15, x2: LEFT + GAP, y2: j * ROW + 15, stroke: colour,
      "stroke-width": 1 + 3 * u, "stroke-opacity": u.toFixed(3) }, links);
    l.dataset.q = i; l.dataset.k = j;
    out.push(l);
  }));
  const token = (x, y, t, anchor, side, i) => {
    const e = svgEl("text", { x, y, "text-anchor": anchor, class: "tok" }, svg);
    e.textContent = show(t);
    e.addEventListener("mouseenter", () => focus(side, i));
    e.addEventListener("mouseleave", () => focus(null));
  };
  A.queries.forEach((t, i) => token(LEFT - 8, i * ROW + 19, t, "end", "q", i));
  A.keys.forEach((t, j) => token(LEFT + GAP + 8, j * ROW + 19, t, "start", "k", j));
  return out;
}
function heat(box, A, values, signed) {
  box.textContent = "";
  const t = document.createElement("table");
  t.className = "heat";
  let m = 0;
  for (const row of values) for (const x of row) m = Math.max(m, Math.abs(num(x)));
  const head = t.insertRow();
  head.insertCell().textContent = "";
  for (const k of A.keys) head.insertCell().textContent = show(k);
  values.forEach((row, i) => {
    const tr = t.insertRow();
    tr.insertCell().textContent = show(A.queries[i]);
    row.forEach((x) => {
      const v = num(x), u = m > 0 ? v / m : 0, w = Math.round(255 * (1 - Math.abs(u)));
      const c = tr.insertCell();
      c.style.background = !signed ? "rgb(" + w + "," + w + ",255)" : u >= 0 ? "rgb(255," + w + "," + w + ")" : "rgb(" + w + "," + w + ",255)";
      c.title = fmt(v);
    });
  });
  box.appendChild(t);
  const cap = document.createElement("div");
  cap.className = "cap";
  cap.textContent = "rows: queries, columns: keys; scale \u00b1" + fmt(m);
  box.appendChild(cap);
}
let drawn = [];
function focus(side, i) {  // hovering a token: its lines stand out, its numbers are written below
  for (const list of drawn) for (const l of list) {
    const on = side === null || (side === "q" ? +l.dataset.q === i : +l.dataset.k === i);
    l.style.visibility = on ? "" : "hidden";
  }
  const A = D.attention[current], box = $("numbers");
  if (side === null) { box.textContent = ""; return; }
  const pick = (rows) => (side === "q" ? rows[i] : rows.map((r) => r[i]));
  const other = side === "q" ? A.keys : A.queries;
  box.textContent = (side === "q" ? "query " : "key ") + show((side === "q" ? A.queries : A.keys)[i]) + ": " +
    other.map((t, j) => show(t) + " \u03b1=" + fmt(pick(A.weights)[j]) + " dL/d\u03b1=" + fmt(pick(A.grads)[j])).join("   ");
}
function draw(k) {
  current = k;
  const A = D.attention[k];
  drawn = [lines($("lines-w"), A, A.weights, false), lines($("lines-g"), A, A.grads, true)];
  heat($("heat-w"), A, A.weights, false);
  heat($("heat-g"), A, A.grads, true);
}
const sel = $("which");
D.attention.forEach((A, k) => { const o = document.createElement("option"); o.value = k; o.textContent = A.name; sel.appendChild(o); });
sel.addEventListener("change", () => draw(Number(sel.value)));
window.tinygradAttn = { attention: D.attention, loss: D.loss, show: (k) => { sel.value = k; draw(Number(k)); return D.attention[k].name; } };
draw(0);
