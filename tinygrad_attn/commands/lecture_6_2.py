"""Figure 6-2 as the book draws it: one RNN step left to right, then the same block unrolled over T steps.

h_{t-1} enters from the left, x_t from below, h_t leaves to the right; every node is filled by
the gradient its output received in one recorded backward pass of L = sum(h_T), and each step's
W_h, W_x and b by the part of their gradient that step contributed.
"""

from __future__ import annotations

import os

import numpy as np

from .. import Tensor, nn, record_backward, scope, seed
from .lecture_common import both, log_norm

T_62, D_62, H_62 = 3, 2, 3


def rnn_run(T=T_62, D=D_62, H=H_62):
    """One tanh RNN over T steps written out op by op, L = sum(h_T), backward recorded.

    Returns (rnn, steps, loss, record): steps[t-1] = {"h_prev", "x", "hW", "xW", "s", "a", "h"} tensors
    of step t (s = h_{t-1}W_h + x_tW_x, a = s + b, h = tanh(a)).
    """
    seed(0)
    rnn = nn.RNN(D, H, per_step=True)
    rng = np.random.default_rng(0)
    h = Tensor(rng.standard_normal((1, H)).astype(np.float32), requires_grad=True, name="h_0")
    steps = []
    for t in range(1, T + 1):
        x = Tensor(rng.standard_normal((1, D)).astype(np.float32), requires_grad=True, name=f"x_{t}")
        with scope(f"t={t}"):
            hW = h @ rnn.W_h  # (1, H)
            xW = x @ rnn.W_x  # (1, H)
            s = hW + xW
            a = s + rnn.b
            h_t = a.tanh()
        hW.name, xW.name, s.name, a.name, h_t.name = f"h_{t - 1}W_h", f"x_{t}W_x", f"s_{t}", f"a_{t}", f"h_{t}"
        steps.append({"h_prev": h, "x": x, "hW": hW, "xW": xW, "s": s, "a": a, "h": h_t})
        h = h_t
    loss = h.sum()
    loss.name = "L"
    with record_backward() as rec:
        loss.backward()
    return rnn, steps, loss, rec


def step_values(rnn, steps, rec):
    """log10 ||grad|| per drawn node: {(t, key): value}; W_h, W_x, b per step: that step's contribution."""
    vals = {}
    for t, s in enumerate(steps, 1):
        for k in ("hW", "xW", "s", "a", "h", "x"):
            vals[(t, k)] = log_norm(rec.grad_of(s[k]))
    for k, p in (("W_h", rnn.W_h), ("W_x", rnn.W_x), ("b", rnn.b)):
        for step, _, c in rec.contributions_to(p):
            t = int(step.scope.rsplit("t=", 1)[1])
            vals[(t, k)] = log_norm(c)
    vals[(0, "h")] = log_norm(rec.grad_of(steps[0]["h_prev"]))
    vals[("L", "L")] = 0.0  # dL/dL = 1
    return vals


def step_block(t, ox, vals, names, frame_label=None):
    """Nodes, edges and the frame of step t drawn with its MatMul h_{t-1}W_h at x = ox (grid units of 0.5 in)."""
    from viz.diagram import Edge, Frame, Node

    k = lambda name: f"{name}{t}"  # noqa: E731
    v = lambda key: vals.get((t, key))  # noqa: E731
    nodes = [
        Node(k("Wh"), ox, 1.15, names["W_h"], v("W_h"), "leaf"),
        Node(k("hW"), ox, 0, "MatMul", v("hW"), w=1.45, h=0.62),
        Node(k("s"), ox + 2.4, 0, "+", v("s"), "circle", w=0.52),
        Node(k("xW"), ox + 2.4, -1.25, "MatMul", v("xW"), w=1.45, h=0.62),
        Node(k("Wx"), ox + 0.75, -1.25, names["W_x"], v("W_x"), "leaf"),
        Node(k("x"), ox + 2.4, -2.45, names["x"], v("x"), "leaf"),
        Node(k("a"), ox + 3.75, 0, "+", v("a"), "circle", w=0.52),
        Node(k("b"), ox + 3.75, -1.25, names["b"], v("b"), "leaf", w=0.6),
        Node(k("h"), ox + 4.95, 0, "tanh", v("h"), w=1.1, h=0.62),
    ]
    edges = [
        Edge(k("Wh"), k("hW")),
        Edge(k("hW"), k("s"), names["hW"]),
        Edge(k("x"), k("xW")),
        Edge(k("Wx"), k("xW")),
        Edge(k("xW"), k("s"), names["xW"], label_at="left"),
        Edge(k("s"), k("a")),
        Edge(k("b"), k("a")),
        Edge(k("a"), k("h")),
    ]
    frame = Frame(ox - 0.95, -2.9, ox + 5.7, 1.6, frame_label or "")
    return nodes, edges, frame


def names_for(t=None):
    """The lecture's names in step t (None: the generic h_{t-1}, x_t, ...), as mathtext."""
    if t is None:
        p, c = "t-1", "t"
    else:
        p, c = str(t - 1), str(t)
    return {
        "W_h": r"$W_h$",
        "W_x": r"$W_x$",
        "b": r"$b$",
        "x": rf"$x_{{{c}}}$",
        "hW": rf"$h_{{{p}}}W_h$",
        "xW": rf"$x_{{{c}}}W_x$",
        "h_prev": rf"$h_{{{p}}}$",
        "h": rf"$h_{{{c}}}$",
    }


PITCH = 7.4  # grid units from one step's MatMul h_{t-1}W_h to the next one's


def unrolled(steps, vals, scale, paths, title, bar_label, step_label="t={t}"):
    """Draw the T steps left to right, h_0 entering at the left and L = sum(h_T) at the right."""
    from viz import diagram
    from viz.diagram import Edge, Node

    T = len(steps)
    nodes = [Node("h0", -2.0, 0, r"$h_0$", vals.get((0, "h")), "leaf")]
    edges, frames = [], []
    for t in range(1, T + 1):
        ox = (t - 1) * PITCH
        n, e, f = step_block(t, ox, vals, names_for(t), step_label.format(t=t))
        nodes += n
        edges += e
        frames.append(f)
        prev = "h0" if t == 1 else f"h{t - 1}"
        label = None if t == 1 else names_for(t - 1)["h"]
        edges.append(Edge(prev, f"hW{t}", label))
    end = (T - 1) * PITCH + 6.6
    nodes += [
        Node("sum", end + 0.3, 0, "sum", vals.get(("L", "L")), w=0.9),
        Node("L", end + 1.5, 0, "L", None, "plain"),
    ]
    edges += [Edge(f"h{T}", "sum", names_for(T)["h"]), Edge("sum", "L")]
    return diagram.draw(
        nodes, edges, paths, scale=scale, frames=frames, title=title, colorbar_label=bar_label, unit=0.5,
        fontsize=12.5, colorbar="bottom",
    )  # fmt: skip


def one_step(vals, scale, paths, title, bar_label, out_label):
    """Draw one generic step: h_{t-1} in from the left, x_t from below, h_t out to the right."""
    from viz import diagram
    from viz.diagram import Edge, Node

    names = names_for(None)
    nodes, edges, _ = step_block(1, 0.0, vals, names)
    nodes += [
        Node("hp", -2.2, 0, names["h_prev"], vals.get((0, "h")), "leaf", w=1.2),
        Node("out", 7.2, 0, out_label, None, "plain"),
    ]
    edges += [Edge("hp", "hW1"), Edge("h1", "out", names["h"])]
    return diagram.draw(
        nodes, edges, paths, scale=scale, title=title, colorbar_label=bar_label, unit=0.5, fontsize=12,
        colorbar="bottom",
    )  # fmt: skip


FORMULA = r"$h_t = \tanh(h_{t-1}W_h + x_tW_x + b)$"


def fig_6_2(out, lang="en", quick=False):
    """Figure 6-2: one tanh RNN step, and the layer unrolled over T=3 steps, drawn with their gradients."""
    import viz
    from viz import colors

    from .lecture_words import word

    rnn, steps, loss, rec = rnn_run()
    vals = step_values(rnn, steps, rec)
    rnn1, steps1, _, rec1 = rnn_run(T=1)
    vals1 = step_values(rnn1, steps1, rec1)
    finite = [v for d in (vals, vals1) for v in d.values() if v is not None]
    scale = colors.nice_scale(finite)  # one scale for both pictures
    bar = word("grad.bar", lang)
    step_paths, step_files = both(out, "fig6_2_step")
    one_step(vals1, scale, step_paths, [word("6-2.step.title", lang), FORMULA], bar, "")
    unrolled_paths, unrolled_files = both(out, "fig6_2_unrolled")
    unrolled(steps, vals, scale, unrolled_paths, word("6-2.unrolled.title", lang, T=T_62), bar)
    files = step_files + unrolled_files
    if hasattr(viz, "explore"):
        viz.explore(rec, title=f"Figure 6-2: the RNN unrolled over T={T_62} steps").save(
            os.path.join(out, "fig6_2_explore.html")
        )
        files.append("fig6_2_explore.html")
    ops = [s.op for s in rec.steps]
    return {
        "files": files,
        "T": T_62,
        "matmuls": ops.count("MatMul"),
        "getitems": ops.count("GetItem"),
        "steps": len(rec.steps),
        "grad_h": [float(np.linalg.norm(rec.grad_of(s["h"]))) for s in steps],
        "grad_h0": float(np.linalg.norm(rec.grad_of(steps[0]["h_prev"]))),
        "grad_x": [float(np.linalg.norm(rec.grad_of(s["x"]))) for s in steps],
        "names": [s["h"].name for s in steps],
    }
