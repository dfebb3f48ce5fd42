"""The explorer's side panels, in JavaScript: the arithmetic of a step, heatmaps, the time strip, attention.

Part of the page's one script (`viz.explore_page.JS`): these functions run inside its scope and
use its helpers (`el`, `fmt`, `steps`, `T`, `show`, ...).
"""

PANELS_JS = r"""
  // ---- heatmaps (canvas) -------------------------------------------------------------------
  function heat(parent, S, label, top) {  // top: the value drawn full red (default: the largest |value|)
    const vals = S.v.map(num);
    const cols = Math.max(1, Math.min(S.s.length ? S.s[S.s.length - 1] : 1, vals.length));
    const rows = Math.max(1, Math.ceil(vals.length / cols));
    const cell = Math.max(3, Math.min(22, Math.floor(300 / cols), Math.floor(180 / rows)));
    const c = el("canvas", null, "heat");
    c.width = cols * cell; c.height = rows * cell;
    const ctx = c.getContext("2d");
    let m = top || 0;
    if (!top) for (const v of vals) if (Number.isFinite(v)) m = Math.max(m, Math.abs(v));
    vals.forEach((v, i) => {
      const u = m > 0 && Number.isFinite(v) ? v / m : 0;
      const w = Math.round(255 * (1 - Math.abs(u)));
      const rgb = u >= 0 ? [255, w, w] : [w, w, 255];
      ctx.fillStyle = Number.isFinite(v) ? "rgb(" + rgb.join(",") + ")" : "#ff3ea5";
      ctx.fillRect((i % cols) * cell, Math.floor(i / cols) * cell, cell, cell);
    });
    el("div", label, "cap", parent);
    parent.appendChild(c);
    const shown = vals.length < S.n ? "first " + vals.length + " of " + S.n + " values; " : "";
    el("div", shape(S.s) + ": " + shown + "red > 0 > blue, scale ±" + fmt(m), "cap", parent);
  }

  // ---- details of a clicked node: heatmaps and the backward rule ----------------------------
  function select(id) {
    if (selected && document.getElementById(selected)) document.getElementById(selected).classList.remove("tg-sel");
    selected = id;
    document.getElementById(id).classList.add("tg-sel");
    details();
  }
  function details() {
    const box = $("details");
    box.textContent = "";
    if (!selected) { el("div", "Click a node for its numbers and its op's backward rule.", "muted", box); return; }
    const info = byId(selected).info;
    if (info.k === "summary") { el("div", "A collapsed cluster of " + info.t.length + " tensors.", "", box); return; }
    const ti = info.t[0], t = T[ti];
    el("div", t.name + "  " + shape(t.value.s) + "  " + t.dtype, "head", box);
    heat(box, t.value, "value");
    if (t.rg) {
      const g = gradAt(ti, cur);
      if (g) heat(box, g.S, "gradient " + dname(t) + " at step " + (cur + 1) + " (" + g.note + ")");
      else el("div", "gradient: not reached yet at step " + (cur + 1), "muted", box);
    }
    if (t.rule === null) { el("div", "a leaf: backward adds every contribution into its .grad", "muted", box); return; }
    const r = D.rules[t.rule];
    el("div", "backward rule of " + r.name + ": " + (r.doc || "").split("\n")[0], "", box);
    el("pre", r.src || "(no source)", "src", box);
  }

  // ---- the arithmetic of one step ----------------------------------------------------------
  function explain(k) {
    const s = steps[k], box = $("explain"), t = T[s.t], name = dname(t);
    box.textContent = "";
    el("div", "Step " + (k + 1) + " of " + N + ": " + s.op + (s.scope ? "   [" + s.scope + "]" : "") +
      (s.run ? "   run " + (s.run + 1) : ""), "head", box);
    el("div", "The gradient arrives at " + t.name + " " + shape(t.value.s) + ":", "", box);
    const scalar = s.g.n === 1;
    el("div", scalar ? name + " = " + fmt(s.g.v[0]) : "||" + name + "|| = " + fmt(s.g.norm) + "   (" + stats(s.g) + ")",
      "eq", box);
    if (k === 0 && s.nparts === 0) el("div", "the start of backward: d" + t.name + "/d" + t.name + " = 1", "note", box);
    else if (s.nparts === 1) {
      const [ps] = s.parts[0];
      el("div", "from " + steps[ps].op + " (step " + (ps + 1) + ")", "note", box);
    } else if (s.nparts > 1) fanIn(box, name, s.parts.map((p) => [p[0], steps[p[0]].ins[p[1]].c]), s.nparts, s.g, "");
    if (!scalar && s.g.n <= 8) el("div", name + " = " + list(s.g), "note", box);
    const r = D.rules[s.rule];
    el("div", "Backward rule of " + s.op + ": " + (r.doc || "").split("\n")[0], "muted", box);
    s.ins.forEach((inp, i) => contribution(box, k, inp, i));
  }
  function fanIn(box, name, parts, total, sum, tail) {
    const all = parts.every((p) => p[1].n === 1) && sum.n === 1;
    const more = total > parts.length ? "... + " : "";
    if (all) {
      el("div", name + " = " + more + parts.map((p) => fmt(p[1].v[0])).join(" + ") + " = " + fmt(sum.v[0]) + tail,
        "eq", box);
    } else {
      el("div", name + " = sum of " + total + " contributions, norms " + more +
        parts.map((p) => fmt(p[1].norm)).join(" + ") + " -> ||sum|| = " + fmt(sum.norm) + tail, "eq", box);
    }
    el("div", "from " + parts.map((p) => steps[p[0]].op + " (step " + (p[0] + 1) + ")").join(", "), "note", box);
  }
  // a local derivative read off as contribution / incoming: "?" where the incoming gradient is 0
  const dfmt = (x) => (Number.isNaN(num(x)) ? "?" : fmt(x));
  function contribution(box, k, inp, i) {
    const s = steps[k], p = T[inp.t], d = el("div", null, "inp", box);
    el("div", "Input " + i + ": " + p.name + " " + shape(p.value.s), "", d);
    if (!inp.c) {
      el("div", p.rg ? "no gradient passed to it" : "constant: no gradient needed", "muted", d);
      return;
    }
    const g = s.g, c = inp.c;
    if (inp.kind === "scalar") {
      el("div", fmt(g.v[0]) + " × " + dfmt(inp.d.v[0]) + " = " + fmt(c.v[0]), "eq", d);
      el("div", "incoming × local derivative = contribution" +
        (Number.isNaN(num(inp.d.v[0])) ? " (? : the incoming gradient is 0)" : ""), "note", d);
    } else if (inp.kind === "elementwise" && c.n <= 8) {
      el("div", list(g) + " ⊙ [" + inp.d.v.map(dfmt).join(", ") + "] = " + list(c), "eq", d);
      el("div", "incoming ⊙ local derivative (elementwise) = contribution", "note", d);
      if (inp.d.v.some((x) => Number.isNaN(num(x)))) el("div", "?: the incoming gradient is 0 there", "note", d);
    } else {
      const gain = num(g.norm) > 0 ? fmt(num(c.norm) / num(g.norm)) : "?";
      el("div", "||incoming|| " + fmt(g.norm) + " -> ||contribution|| " + fmt(c.norm) + ";  gain " + gain, "eq", d);
      if (inp.kind === "elementwise") {
        el("div", "local derivative (elementwise): " + stats(inp.d), "note", d);
      } else if (inp.kind === "reduced") {
        el("div", "elementwise, then summed over the broadcast axes to " + shape(c.s), "note", d);
      } else {
        el("div", "gain = ||contribution|| / ||incoming||", "note", d);
      }
      if (c.n <= 8) el("div", "contribution = " + list(c), "note", d);
    }
    if (inp.n > 1) {
      const name = dname(p) + (inp.k < inp.n ? " so far" : "");
      const tail = "   (" + inp.k + " of " + inp.n + " contributions)";
      if (inp.k === 1) {
        el("div", "first of " + inp.n + " contributions to " + p.name + "; the others arrive later", "note", d);
      } else {
        const prev = inp.prev.map((q) => [q[0], steps[q[0]].ins[q[1]].c]);
        fanIn(d, name, prev.concat([[k, c]]), inp.k, inp.cum, tail);
      }
    } else if (p.leaf) el("div", "all of " + p.name + ".grad", "note", d);
  }

  // ---- the time-step strip: ||dL/dh_t|| on a log scale ------------------------------------------
  const NS = "http://www.w3.org/2000/svg";
  const bars = [], markers = [];
  function buildStrip() {
    const box = $("strip");
    if (!D.strip.length) { box.hidden = true; return; }
    el("h2", "||dL/dh_t|| per time step (log scale)", "", box);
    for (const grp of D.strip) {
      if (grp.group) el("div", grp.group, "cap", box);
      const n = grp.items.length, w = Math.min(22, 400 / n), H = 64;
      const s = document.createElementNS(NS, "svg");
      s.setAttribute("width", Math.ceil(n * w) + 2); s.setAttribute("height", H + 14);
      grp.items.forEach((it, i) => {
        const r = document.createElementNS(NS, "rect");
        r.setAttribute("class", "bar"); r.setAttribute("x", i * w + 1);
        r.setAttribute("width", Math.max(0.6, w > 3 ? w - 1 : w));
        r.addEventListener("click", () => { show(it.step); reveal(steps[it.step].id, true); });
        const title = document.createElementNS(NS, "title");
        r.appendChild(title); s.appendChild(r);
        bars.push({ r, it, title, H, state: "" });
        if (n <= 30 || i % Math.ceil(n / 8) === 0 || i === n - 1) {
          const tx = document.createElementNS(NS, "text");
          tx.setAttribute("x", i * w + w / 2 + 1); tx.setAttribute("y", H + 12); tx.setAttribute("font-size", "9");
          tx.setAttribute("text-anchor", "middle"); tx.textContent = it.t; s.appendChild(tx);
        }
      });
      const m = document.createElementNS(NS, "rect");  // the time step of the current step
      m.setAttribute("y", 0); m.setAttribute("height", H); m.setAttribute("width", Math.max(2, w));
      m.setAttribute("fill", "none"); m.setAttribute("stroke", "#ff7f0e"); m.setAttribute("stroke-width", 2);
      m.style.pointerEvents = "none";
      s.appendChild(m);
      markers.push({ m, w });
      el("div", null, "row", box).appendChild(s);
    }
    el("div", "t below each bar; click a bar to go to that step. Bars from " + fmt(10 ** D.scale[0]) + " to " +
      fmt(10 ** D.scale[1]) + "; grey: not reached yet.", "cap", box);
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

  // ---- attention weights next to their gradient ------------------------------------------------
  const attn = [];
  function buildAttention() {
    const box = $("attention");
    if (!D.attention.length) { box.hidden = true; return; }
    el("h2", "attention weights and dL/dweights", "", box);
    for (const a of D.attention) {
      const row = el("div", null, "attn", box), left = el("div", null, "", row), right = el("div", null, "", row);
      heat(left, a.w, a.label + ": weights", 1);
      row.addEventListener("click", () => { show(a.step); reveal(steps[a.step].id, true); });
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

"""
