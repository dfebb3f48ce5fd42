"""viz.frames: one frame per step of the engine's record, in its order; the future stays hidden."""

import os
import re

import numpy as np
import pytest
from conftest import record, recorded_chain

import viz
from tinygrad_attn import Tensor
from tinygrad_attn.commands.analysis import unroll_tanh_rnn
from viz import colors, render


def segment(svg, node_id):
    """The SVG group of one drawn node."""
    return svg.split(f'<g id="{node_id}" class="node">')[1].split("<!--")[0]


def highlighted(svg):
    """Ids of the nodes drawn with the thick highlight outline."""
    out = []
    for m in re.finditer(r'<g id="([^"]+)" class="node">', svg):
        if f'stroke="{colors.HIGHLIGHT}" stroke-width="4"' in segment(svg, m.group(1)):
            out.append(m.group(1))
    return out


def read(paths):
    return [open(p, encoding="utf-8").read() for p in paths]


def p_and_q():
    x = Tensor(1.0, requires_grad=True, name="x", dtype=np.float64)
    q = x * 3.0
    q.name = "q"
    p = x * 2.0
    p.name = "p"
    out = p + q
    out.name = "out"
    return out, p, q, x


def test_frames_follow_the_engine_order(tmp_path):
    out, p, q, x = p_and_q()
    rec = record(out)
    assert [s.tensor for s in rec.steps] == [out, p, q]  # the engine runs p before q
    g = viz.draw(rec)
    boxes = {g.node_for(t).id: t for t in rec.tensors()}
    svgs = read(viz.frames(rec, tmp_path))
    shown = [[boxes[i] for i in highlighted(svg) if i in boxes] for svg in svgs]
    assert shown == [[s.tensor] for s in rec.steps]
    assert "backward step 2/3: p has its full gradient" in svgs[1]


def test_frames_of_a_tensor_record_its_backward_and_keep_every_grad(tmp_path):
    out, p, q, x = p_and_q()
    svgs = read(viz.frames(out, tmp_path))
    assert len(svgs) == 3 and "backward step 2/3: p" in svgs[1] and "backward step 3/3: q" in svgs[2]
    assert x.grad is None and p.grad is None  # the graph is as it was
    out.backward()  # and still alive


def test_a_pending_node_shows_nothing_of_its_future(tmp_path):
    rec, h, x = recorded_chain(3)
    g = viz.draw(rec)
    svgs = read(viz.frames(rec, tmp_path, derivatives=True))
    final = f"{np.linalg.norm(rec.grad_of(x)):.3g}"
    for svg in svgs[:-1]:  # x gets its gradient from the last step, h_1's
        seg = segment(svg, g.node_for(x).id)
        assert "|grad| pending" in seg and "grad: pending (not reached yet)" in seg
        assert final not in seg and "norm" not in seg and f'fill="{colors.PLAIN_FILL}"' in seg
    h1 = segment(svgs[0], g.node_for(h.op.inputs[0].op.inputs[0]).id)  # h_1: processed last
    assert "pending" in h1 and "backward step" not in h1  # not even when its turn comes
    labels = [e.label for e in g.edges if e.label]
    assert len(labels) == 3 and all(f">{lab}<" in svgs[-1] for lab in labels)
    assert not any(f">{lab}<" in svgs[0] for lab in labels[:-1])  # the ops below h_3 have not run yet
    assert f">{labels[-1]}<" in svgs[0]  # h_3's own Tanh runs in step 1
    last = segment(svgs[-1], g.node_for(x).id)
    assert f"|grad| {final}" in last and "pending" not in last


def test_a_leaf_fills_up_as_its_contributions_arrive(tmp_path):
    out, p, q, x = p_and_q()
    rec = record(out)
    svgs = read(viz.frames(rec, tmp_path))
    box = viz.draw(rec).node_for(x).id
    assert "|grad| pending" in segment(svgs[0], box)
    assert "|grad| 2" in segment(svgs[1], box) and "arrived so far" in segment(svgs[1], box)  # from p = 2 x
    assert f"|grad| {x.grad.item():.3g}" in segment(svgs[2], box)  # and q = 3 x


def test_frames_lay_out_once(tmp_path, monkeypatch):
    rec, h, x = recorded_chain(3)
    calls = []
    real = render.to_bytes
    monkeypatch.setattr(render, "to_bytes", lambda *a, **k: calls.append(a) or real(*a, **k))
    paths = viz.frames(rec, tmp_path / "frames")
    assert len(calls) == 1 and len(paths) == 3  # one Graphviz run, however many frames
    page = open(tmp_path / "frames" / "index.html", encoding="utf-8").read()
    assert page.count("<svg") == 3 and "ArrowRight" in page
    assert "src=" not in page and 'href="http' not in page  # self-contained
    assert all(os.path.exists(p) for p in paths)


def test_frames_of_a_freed_graph_say_how_to_record(tmp_path):
    h = Tensor(1.0, requires_grad=True).tanh()
    h.backward()
    with pytest.raises(RuntimeError, match=r"freed this graph.*viz.frames\(rec\)"):
        viz.frames(h, tmp_path)


def test_frames_refuse_a_huge_graph(tmp_path):
    rec, h, x = recorded_chain(30)
    with pytest.raises(ValueError, match="max_frames=10"):
        viz.frames(rec, tmp_path, max_frames=10)


def test_a_copy_of_a_shared_weight_fills_up_from_its_own_step_on(tmp_path):
    loss, hs, params = unroll_tanh_rnn(T=3, H=2, radius=1.0, seed=0)
    rec = record(loss)
    g = viz.draw(rec)
    copies = {n.cluster: n for n in g.nodes if n.kind == "ref" and n.label == ["W_x"]}
    ops = {n.id: n.fn for n in g.nodes if n.kind == "op"}
    fed = {e.src: ops[e.dst] for e in g.edges if e.src in {c.id for c in copies.values()}}
    k = next(s.index for s in rec.steps if s.fn is fed[copies["t=3"].id])  # the step of t=3's x_3 @ W_x
    svgs = read(viz.frames(rec, tmp_path))
    assert "grad: pending" not in segment(svgs[k], copies["t=3"].id)
    assert "grad: pending" in segment(svgs[k], copies["t=1"].id)  # W_x has some gradient, not from t=1 yet
    assert "grad: pending" not in segment(svgs[-1], copies["t=1"].id)
