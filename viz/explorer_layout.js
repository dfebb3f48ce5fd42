// The explorer's layout: boxes in columns, data flowing left to right, one level of the call tree at a time.
// Part of the page's one script (viz/explore_page.py joins the files): plain functions, no page state.

// Place items {w, h} in columns by longest path (sources pulled next to their first use), order
// each column by the barycentre of its neighbours, then set heights by least squares under the
// column order (pool-adjacent-violators). Edges that skip columns pass through dummy points.
// items: [{w, h, fixed0}], edges: [[a, b]] -> {x, y (per item, top-left), w, h, routes (per edge, points)}.
function layered(items, edges, opt) {
  const n = items.length, GAPX = opt.gapx, GAPY = opt.gapy;
  const succ = items.map(() => []), pred = items.map(() => []);
  for (const [a, b] of edges) { succ[a].push(b); pred[b].push(a); }
  // ranks: longest path from the sources (Kahn's order)
  const rank = new Array(n).fill(0), indeg = pred.map((p) => p.length), queue = [];
  for (let i = 0; i < n; i++) if (!indeg[i]) queue.push(i);
  for (let q = 0; q < queue.length; q++) {
    const u = queue[q];
    for (const v of succ[u]) { rank[v] = Math.max(rank[v], rank[u] + 1); if (--indeg[v] === 0) queue.push(v); }
  }
  for (let q = queue.length - 1; q >= 0; q--) {  // a source sits just before its first use
    const u = queue[q];
    if (!pred[u].length && succ[u].length && !items[u].fixed0) rank[u] = Math.min(...succ[u].map((v) => rank[v])) - 1;
  }
  let lo = Infinity;
  for (const r of rank) lo = Math.min(lo, r);
  for (let i = 0; i < n; i++) rank[i] -= lo === Infinity ? 0 : lo;
  // dummy points on edges that skip columns
  const H = [], W = [], nodeRank = rank.slice(), up = pred.map((p) => p.slice()), down = succ.map((s) => s.slice());
  for (let i = 0; i < n; i++) { H.push(items[i].h); W.push(items[i].w); }
  const chains = edges.map(([a, b]) => {
    const chain = [];
    let prev = a;
    for (let r = rank[a] + 1; r < rank[b]; r++) {
      const d = H.length;
      H.push(2); W.push(0); nodeRank.push(r); up.push([prev]); down.push([]);
      down[prev].push(d); chain.push(d); prev = d;
    }
    if (chain.length) { down[prev].push(b); up[b].push(prev); }
    return chain;
  });
  for (let e = 0; e < edges.length; e++) if (chains[e].length) {  // the direct link is replaced by the chain
    const [a, b] = edges[e];
    down[a].splice(down[a].indexOf(b), 1); up[b].splice(up[b].indexOf(a), 1);
  }
  const m = H.length, cols = [];
  for (let i = 0; i < m; i++) (cols[nodeRank[i]] = cols[nodeRank[i]] || []).push(i);
  for (let r = 0; r < cols.length; r++) cols[r] = cols[r] || [];
  const pos = new Array(m).fill(0);
  const setPos = () => { for (const c of cols) c.forEach((v, i) => { pos[v] = i; }); };
  setPos();
  const bary = (v, nb) => {
    const list = nb[v];
    if (!list.length) return -1;
    let s = 0;
    for (const u of list) s += pos[u];
    return s / list.length;
  };
  for (let it = 0; it < 6; it++) {  // barycentre sweeps, forward then backward
    const fwd = it % 2 === 0, nb = fwd ? up : down;
    const order = fwd ? cols.keys() : Array.from(cols.keys()).reverse();
    for (const r of order) {
      const c = cols[r], key = new Map();
      for (const v of c) { const b = bary(v, nb); key.set(v, b < 0 ? pos[v] : b); }
      c.sort((a, b) => key.get(a) - key.get(b) || pos[a] - pos[b]);
      c.forEach((v, i) => { pos[v] = i; });
    }
  }
  // heights: start stacked, then pull each column towards its neighbours (least squares, order kept)
  const y = new Array(m).fill(0);
  for (const c of cols) { let t = 0; for (const v of c) { y[v] = t; t += H[v] + (W[v] ? GAPY : 4); } }
  const centre = (v) => y[v] + H[v] / 2;
  for (let it = 0; it < 8; it++) {
    const fwd = it % 2 === 0, nb = fwd ? up : down;
    const order = fwd ? cols.keys() : Array.from(cols.keys()).reverse();
    for (const r of order) {
      const c = cols[r];
      const want = c.map((v) => {
        const list = nb[v].length ? nb[v] : (fwd ? down[v] : up[v]);
        if (!list.length) return y[v];
        let s = 0;
        for (const u of list) s += centre(u);
        return s / list.length - H[v] / 2;
      });
      isotonic(c, want, H, W, GAPY, y);
    }
  }
  let top = Infinity, bottom = -Infinity;
  for (let i = 0; i < m; i++) { top = Math.min(top, y[i]); bottom = Math.max(bottom, y[i] + H[i]); }
  if (!m) { top = 0; bottom = 0; }
  const colX = [], colW = cols.map((c) => Math.max(0, ...c.map((v) => W[v])));
  let x = 0;
  for (let r = 0; r < cols.length; r++) { colX.push(x); x += colW[r] + GAPX; }
  const X = new Array(m);
  for (let i = 0; i < m; i++) X[i] = colX[nodeRank[i]] + (colW[nodeRank[i]] - W[i]) / 2;
  const out = { x: [], y: [], w: Math.max(0, x - GAPX), h: bottom - top, routes: [] };
  for (let i = 0; i < n; i++) { out.x.push(X[i]); out.y.push(y[i] - top); }
  out.routes = chains.map((c) => c.map((d) => [X[d], y[d] - top + 1]));
  return out;
}

// Least-squares tops y[v] of a column near `want`, keeping the order and a gap (pool adjacent violators).
function isotonic(col, want, H, W, gap, y) {
  const off = [];
  let acc = 0;
  for (const v of col) { off.push(acc); acc += H[v] + (W[v] ? gap : 4); }
  const blocks = [];  // [sum of targets, count]
  for (let i = 0; i < col.length; i++) {
    blocks.push([want[i] - off[i], 1, i]);
    while (blocks.length > 1) {
      const b = blocks[blocks.length - 1], a = blocks[blocks.length - 2];
      if (a[0] / a[1] <= b[0] / b[1]) break;
      a[0] += b[0]; a[1] += b[1]; blocks.pop();
    }
  }
  let i = 0;
  for (const [s, k] of blocks) { const z = s / k; for (let j = 0; j < k; j++, i++) y[col[i]] = z + off[i]; }
}

// A smooth path through points, leaving and entering horizontally.
function curve(pts) {
  let d = "M" + pts[0][0].toFixed(1) + "," + pts[0][1].toFixed(1);
  for (let i = 1; i < pts.length; i++) {
    const [x0, y0] = pts[i - 1], [x1, y1] = pts[i], h = Math.max(8, (x1 - x0) / 2);
    d += "C" + (x0 + h).toFixed(1) + "," + y0.toFixed(1) + " " + (x1 - h).toFixed(1) + "," + y1.toFixed(1) +
      " " + x1.toFixed(1) + "," + y1.toFixed(1);
  }
  return d;
}
