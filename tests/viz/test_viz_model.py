"""viz data model: nodes, edges, colours, styles, clusters, shared parameters, collapse."""

import math

import numpy as np
import pytest
from conftest import record

import tinygrad_attn as ta
import viz
from tinygrad_attn import Tensor
from tinygrad_attn.commands.analysis import unroll_tanh_rnn
from viz import colors


def small():
    x = Tensor(np.array([[1.0, -2.0]]), requires_grad=True, name="x")
    W = Tensor(np.array([[0.5, 0.1, 0.0], [0.2, -0.3, 0.4]]), requires_grad=True, name="W")
    y = (x @ W).tanh()
    loss = y.sum()
    loss.backward(retain_grad=True)
    return loss, x, W, y


def by_kind(g, kind):
    return [n for n in g.nodes if n.kind == kind]


def lum(hex_colour):
    r, g, b = (int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_nodes_edges_and_labels():
    loss, x, W, y = small()
    g = viz.draw(loss)
    assert [n.label[0] for n in by_kind(g, "op")] == ["MatMul", "Tanh", "Sum"]
    assert len(by_kind(g, "tensor")) == 5  # x, W, x@W, tanh, loss
    assert [n.id for n in g.nodes] == [f"n{i}" for i in range(len(g.nodes))]
    xn = g.node_for(x)
    assert xn.label == ["x", "(1, 2)", f"|grad| {np.linalg.norm(x.grad.data):.3g}"]
    assert xn.grad_norm == pytest.approx(np.linalg.norm(x.grad.data))
    assert g.node_for(loss).label[:2] == ["Sum", f"= {loss.item():.3g}"]  # named by its op; 0-d shows its value
    ids = {n.id for n in g.nodes}
    assert all(e.src in ids and e.dst in ids for e in g.edges)
    assert len(g.edges) == 2 + 1 + 1 + 3  # inputs into ops, ops into outputs


def test_tooltip_has_stats_rule_and_scope():
    with ta.scope("enc"):
        x = Tensor(np.array([0.5, -1.0]), requires_grad=True, name="x")
        y = x.tanh().sum()
    y.backward(retain_grad=True)
    g = viz.draw(y)
    tip = "\n".join(g.node_for(x).tooltip)
    assert "dtype float64, shape (2,)" in tip and "value: min -1" in tip and "grad:" in tip and "norm" in tip
    tanh_out = next(n for n in g.nodes if n.kind == "tensor" and n.tensor.op is not None and n.tensor.op.name == "Tanh")
    assert "1 - tanh(x)^2" in "\n".join(tanh_out.tooltip)
    assert "scope enc" in "\n".join(tanh_out.tooltip)


def test_colour_is_log_grad_on_one_scale():
    x = Tensor(1.0, requires_grad=True, name="x", dtype=np.float64)
    h = x
    for _ in range(8):
        h = h.tanh()
    h.backward(retain_grad=True)
    g = viz.draw(h)
    tensors = [n for n in by_kind(g, "tensor")]
    norms = [n.grad_norm for n in tensors]
    assert norms == sorted(norms)  # the gradient grows toward the output
    lums = [lum(n.fill) for n in tensors]
    assert lums == sorted(lums, reverse=True)  # big gradient dark, vanishing pale
    lo, hi = g.scale
    assert lo == pytest.approx(math.log10(min(norms))) and hi == pytest.approx(math.log10(max(norms)))
    fixed = viz.draw(h, scale=(-6.0, 2.0))
    assert fixed.scale == (-6.0, 2.0)
    assert fixed.node_for(x).fill == colors.grad_colour(math.log10(x.grad.item()), -6.0, 2.0)
    assert "legend" in g.source and "vanishing" in g.source


def test_plain_zero_nan_inf_styles():
    a = Tensor(np.array([-1.0, -2.0]), requires_grad=True, name="a")
    z = a.relu().sum()  # relu at negative inputs: the gradient is exactly 0
    z.backward(retain_grad=True)
    g = viz.draw(z)
    assert g.node_for(a).status == "zero" and g.node_for(a).fill == colors.ZERO_FILL
    assert "|grad| = 0" in g.node_for(a).label
    b = Tensor(np.array([1.0]), requires_grad=True, name="b")
    c = Tensor(np.array([2.0]), name="c")
    out = (b * c).sum()  # no backward: everything plain
    g = viz.draw(out)
    assert {n.status for n in by_kind(g, "tensor")} == {"plain"}
    assert "no gradients here yet" in g.source
    assert "no grad needed" in g.node_for(c).label
    n = Tensor(np.array([1.0]), requires_grad=True, name="n")
    i = Tensor(np.array([1.0]), requires_grad=True, name="i")
    s = (n + i).sum()
    n.grad, i.grad = Tensor(np.array([np.nan])), Tensor(np.array([np.inf]))
    g = viz.draw(s)
    assert g.node_for(n).status == "nan" and g.node_for(i).status == "inf"
    assert g.node_for(n).fill == colors.BAD_FILL and "|grad| NaN" in g.node_for(n).label
    assert 'penwidth="2.5"' in g.source or "penwidth=2.5" in g.source


def test_edge_labels_come_from_the_record_and_can_be_switched_off():
    x = Tensor(0.5, requires_grad=True, name="x", dtype=np.float64)
    y = x.tanh()
    rec = record(y)
    (e,) = [e for e in viz.draw(rec).edges if e.label]
    (step,) = rec.steps
    assert e.label == f"×{1 - np.tanh(0.5) ** 2:.3g}" == f"×{step.contributions[0] / step.grad:.3g}"
    assert not any(e.label for e in viz.draw(rec, derivatives=False).edges)
    x = Tensor(np.array([[1.0, -2.0]]), requires_grad=True, name="x")
    W = Tensor(np.array([[0.5, 0.1, 0.0], [0.2, -0.3, 0.4]]), requires_grad=True, name="W")
    xw = x @ W
    labels = [e.label for e in viz.draw(xw.tanh().sum(), backward=True).edges if e.label]
    up = 1 - np.tanh(xw.data) ** 2  # the gradient arriving at x @ W
    assert f"gain {np.linalg.norm(up @ W.data.T) / np.linalg.norm(up):.3g}" in labels  # matrix edge: the gain


def test_clusters_from_scopes_nested():
    x = Tensor(np.ones(2), requires_grad=True, name="x")
    h = x
    with ta.scope("encoder"):
        for t in range(1, 3):
            with ta.scope(f"t={t}"):
                h = (h * 2.0).tanh()
    loss = h.sum()
    loss.backward(retain_grad=True)
    g = viz.draw(loss)
    assert g.clusters == ["encoder", "encoder/t=1", "encoder/t=2"]
    assert "subgraph cluster_0" in g.source and "label=encoder" in g.source.replace('"', "")


def test_shared_parameter_drawn_once_with_references():
    loss, hs, p = unroll_tanh_rnn(T=3, H=4, radius=1.0)
    loss.backward(retain_grad=True)
    g = viz.draw(loss, constants=False)
    main = g.node_for(p["W_h"])
    assert main.cluster == "" and main.label[0] == "W_h"
    refs = [n for n in g.nodes if n.kind == "ref" and n.label == ["W_h"]]
    assert [r.cluster for r in refs] == ["t=1", "t=2", "t=3"]
    assert all(r.fill == main.fill for r in refs)
    assert not any(e.src == main.id for e in g.edges)
    assert g.clusters == ["t=1", "t=2", "t=3"]
    assert not any(n.label[0].startswith("x_") for n in g.nodes)  # constants hidden


def test_collapse_one_summary_per_cluster_with_max_grad():
    loss, hs, p = unroll_tanh_rnn(T=30, H=4, radius=1.0)
    loss.backward(retain_grad=True)
    full = viz.draw(loss, max_nodes=None, max_width=None)
    g = viz.draw(loss, max_nodes=100)
    summaries = by_kind(g, "summary")
    assert len(full.nodes) > 100 and len(summaries) == 30
    assert [s.label[0] for s in summaries] == [f"t={t}" for t in range(1, 31)]
    for s in summaries:
        members = [n for n in full.nodes if n.cluster == s.label[0] and n.kind == "tensor" and n.status == "grad"]
        assert s.grad_norm == pytest.approx(max(n.grad_norm for n in members))
    assert g.model.collapsed and "collapsed view" in g.source


def test_thousand_step_rnn_draws_one_box_per_step():
    loss, hs, p = unroll_tanh_rnn(T=1000, H=4, radius=1.0)
    rec = record(loss)
    g = viz.draw(rec)
    svg = g.pipe("svg")
    assert len(by_kind(g, "summary")) == 1000 and svg.lstrip().startswith(b"<?xml")


def test_deep_chain_walk_has_no_recursion():
    x = Tensor(np.ones(1), requires_grad=True)
    h = x
    for _ in range(5000):
        h = h * 1.0
    g = viz.draw(h, max_nodes=None, derivatives=False, constants=False)
    assert len(g.nodes) == 10001 and g.nodes[0].tensor is x


def test_draw_reads_and_never_changes_the_graph():
    loss, x, W, y = small()
    before = (x.grad.data.copy(), W.grad.data.copy(), y.op, y.grad.data.copy())
    assert viz.draw(loss).source
    assert np.array_equal(before[0], x.grad.data) and np.array_equal(before[1], W.grad.data)
    assert y.op is before[2] and np.array_equal(before[3], y.grad.data)


def test_draw_the_backward_graph():
    x = Tensor(np.array([0.3, -0.2]), requires_grad=True, name="x")
    (x.tanh() ** 3).sum().backward(create_graph=True)
    g = viz.draw(x.grad)
    ops = {n.label[0] for n in by_kind(g, "op")}
    assert len(ops) >= 2 and "Mul" in ops
    assert g.node_for(x) is not None


def test_big_graph_without_clusters_collapses_into_runs():
    x = Tensor(np.ones(1), requires_grad=True, name="x")
    h = x
    for _ in range(3000):
        h = (h * 1.0001).tanh()
    h.backward(retain_grad=True)
    g = viz.draw(h, max_nodes=100)
    summaries = by_kind(g, "summary")
    assert 0 < len(g.nodes) <= 100 and len(summaries) == len(g.nodes)
    assert summaries[0].label[0].startswith("nodes 0-")
    assert max(s.grad_norm for s in summaries) == pytest.approx(1.0)
    assert g.pipe("dot").startswith(b"digraph")
