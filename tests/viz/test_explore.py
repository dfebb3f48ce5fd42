"""viz.explore: the page's data against the record, without a browser (see test_explore_browser.py for the page)."""

import json
import re

import numpy as np
import pytest

import tinygrad_attn as ta
import viz
from tinygrad_attn import Tensor
from tinygrad_attn import functional as F
from tinygrad_attn.commands import analysis
from viz import colors
from viz.explore import page_json, prepare_svg
from viz.model import build


def pq():
    """q = x*3; p = x*2; out = tanh(p + q): the engine processes p (created later) before q."""
    x = Tensor(0.5, requires_grad=True, name="x", dtype=np.float64)
    q = x * 3
    q.name = "q"
    p = x * 2
    p.name = "p"
    out = (p + q).tanh()
    out.name = "out"
    return out, x, p, q


def data_of(page):
    """The JSON the page carries, read back from its HTML."""
    m = re.search(r'<script type="application/json" id="tg-data">(.*?)</script>', page.html, re.S)
    return json.loads(m.group(1))


def dom_ids(page):
    return set(re.findall(r'<g id="([^"]+)" class="node"', page.html))


def test_steps_follow_the_record_and_name_the_drawn_node_of_each_tensor():
    out, x, p, q = pq()
    page = viz.explore(out)
    rec = page.record
    assert [op for _, op in page.steps] == [s.op for s in rec.steps] == ["Tanh", "Add", "Mul", "Mul"]
    drawn = {f"tg-{n.id}": n.tensor for n in page.graph.nodes if n.kind == "tensor"}
    assert [drawn[i] for i, _ in page.steps] == [s.tensor for s in rec.steps]
    assert [drawn[i] for i, _ in page.steps][2:] == [p, q]  # p before q, as the engine ran them
    assert {i for i, _ in page.steps} <= dom_ids(page)
    assert data_of(page)["steps"] == page.data["steps"]


def test_explore_leaves_every_grad_as_it_found_it():
    out, x, p, q = pq()
    page = viz.explore(out)
    assert x.grad is None and p.grad is None and out.grad is None
    out2, x2, _, _ = pq()
    x2.grad = Tensor(np.float64(7.0))
    viz.explore(out2)
    assert float(x2.grad.data) == 7.0
    assert page.record.grad_of(x) == pytest.approx(2 * (1 - np.tanh(2.5) ** 2) + 3 * (1 - np.tanh(2.5) ** 2))


def test_a_record_can_be_explored_and_gives_the_same_steps():
    out, x, _, _ = pq()
    with ta.record_backward() as rec:
        out.backward()
    page = viz.explore(rec)
    assert page.record is rec and len(page.steps) == len(rec.steps)
    assert float(x.grad.data) == pytest.approx(float(rec.grad_of(x)))


def test_numbers_of_each_step_are_the_records():
    out, x, p, q = pq()
    page = viz.explore(out)
    rec, steps = page.record, page.data["steps"]
    for s, d in zip(rec.steps, steps):
        assert d["g"]["v"][0] == pytest.approx(float(s.grad), rel=1e-6)
        for c, inp in zip(s.contributions, d["ins"]):
            if c is None:
                assert inp["c"] is None
            else:
                assert inp["c"]["v"][0] == pytest.approx(float(c), rel=1e-6)
                assert inp["kind"] == "scalar"
                assert inp["d"]["v"][0] == pytest.approx(float(c) / float(s.grad), rel=1e-6)
    mul_q = steps[3]["ins"][0]  # the second contribution to x: the running sum of both
    assert (mul_q["k"], mul_q["n"]) == (2, 2)
    assert mul_q["cum"]["v"][0] == pytest.approx(float(rec.grad_of(x)), rel=1e-6)


def test_colour_events_reveal_nothing_before_the_step_that_reaches_a_node():
    out, x, p, q = pq()
    page = viz.explore(out)
    nodes, steps = page.data["nodes"], page.data["steps"]
    for k, s in enumerate(steps):
        assert nodes[s["id"]]["ev"][0][0] == k  # a non-leaf box first changes at its own step
    x_box = "tg-" + page.graph.node_for(x).id
    ev = nodes[x_box]["ev"]
    assert [e[0] for e in ev] == [2, 3]  # x fills up: one contribution from p's Mul, one from q's
    assert ev[0][3].endswith("so far") and not ev[1][3].endswith("so far")


def test_elementwise_and_matrix_steps_are_told_apart():
    loss, _, params = analysis.unroll_tanh_rnn(T=3, H=4, seed=0)
    page = viz.explore(loss)
    kinds = {}
    for s, d in zip(page.record.steps, page.data["steps"]):
        for c, inp in zip(s.contributions, d["ins"]):
            if c is not None:
                kinds.setdefault((s.op, inp["kind"]), []).append((s, c, inp))
    assert set(kinds) >= {("Tanh", "elementwise"), ("MatMul", "other"), ("Add", "reduced")}
    for s, _, inp in kinds[("Tanh", "elementwise")]:
        np.testing.assert_allclose(inp["d"]["v"], (1 - s.tensor.data**2).ravel(), rtol=1e-6)
    for _, c, inp in kinds[("MatMul", "other")]:
        assert inp["c"]["norm"] == pytest.approx(np.linalg.norm(c), rel=1e-6)


def test_time_strip_holds_the_gradient_of_each_hidden_state():
    loss, hs, _ = analysis.unroll_tanh_rnn(T=6, H=4, seed=0)
    page = viz.explore(loss)
    loss.backward(retain_grad=True)
    (strip,) = page.data["strip"]
    assert [it["t"] for it in strip["items"]] == [1, 2, 3, 4, 5, 6]
    assert [it["name"] for it in strip["items"]] == [f"h_{t}" for t in range(1, 7)]
    np.testing.assert_allclose([it["norm"] for it in strip["items"]], analysis.gradient_norms(hs), rtol=1e-6)
    for d in page.data["steps"]:
        if d["scope"]:
            gi, ii = d["tk"]
            assert strip["items"][ii]["t"] == int(d["scope"].split("=")[1])


def test_attention_weights_and_their_gradient_come_from_the_softmax_step():
    ta.seed(0)
    model = ta.nn.AttentionSeq2Seq(vocab_size=6, wordvec_size=4, hidden_size=4, cell="rnn")
    tgt = np.array([[4, 5]])
    loss = F.cross_entropy(model(np.array([[1, 2, 3]]), tgt).reshape(-1, 6), tgt.reshape(-1))
    page = viz.explore(loss, max_nodes=None)
    (att,) = page.data["attention"]
    step = page.record.steps[att["step"]]
    assert step.op == "Softmax" and "attention" in step.scope
    np.testing.assert_allclose(att["w"]["v"], model.attention_weights.ravel(), rtol=1e-6)
    assert att["w"]["s"] == [1, 2, 3]


def test_big_graphs_keep_a_few_numbers_per_array_and_every_step_a_drawn_element():
    x = Tensor(np.linspace(-1, 1, 600), requires_grad=True, name="x")
    h = x
    for _ in range(1500):  # no scopes: the drawing cuts the chain into runs of nodes
        h = h.tanh()
    page = viz.explore(h.sum(), max_nodes=100, max_values=50)
    ids = dom_ids(page)
    assert len(ids) < 200 and all(i in ids for i, _ in page.steps)
    arrays = [d["g"] for d in page.data["steps"]] + [t["value"] for t in page.data["tensors"]]
    assert max(len(a["v"]) for a in arrays) == 50 and max(a["n"] for a in arrays) == 600
    full = {n.tensor: int(n.id[1:]) for n in build(page.record.roots[0]).nodes if n.kind == "tensor"}
    runs = {f"tg-{n.id}": n.summary_of for n in page.graph.nodes if n.kind == "summary"}
    for s, (i, _) in zip(page.record.steps, page.steps):  # the run of nodes "a-b" holds the step's node
        a, b = map(int, re.fullmatch(r"nodes (\d+)-(\d+)", runs[i]).groups())
        assert a <= full[s.tensor] <= b


def test_collapsed_time_steps_map_to_their_summary_box():
    loss, hs, _ = analysis.unroll_tanh_rnn(T=40, H=4, seed=0)
    page = viz.explore(loss, max_nodes=60)
    summaries = {f"tg-{n.id}": n for n in page.graph.nodes if n.kind == "summary"}
    inside = [(s, i) for s, (i, _) in zip(page.record.steps, page.steps) if s.scope]
    assert inside and all(i in summaries for _, i in inside)
    for s, i in inside:
        assert summaries[i].summary_of == s.scope


def test_the_page_needs_no_network():
    page = viz.explore(pq()[0])
    text = page.html
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", text))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}  # namespace names, never fetched
    for pattern in (r"<script[^>]*\ssrc=", r"<link\b", r"<img\b", r"<iframe\b", r"@import", r"url\(", r"\bfetch\(",
                    r"XMLHttpRequest", r"<use\b", r"\bhref="):  # fmt: skip
        assert not re.search(pattern, text, re.I), pattern


def test_save_writes_the_page_and_jupyter_gets_it_in_a_sandboxed_iframe(tmp_path):
    page = viz.explore(pq()[0], title="p & q <demo>")
    path = page.save(tmp_path / "sub" / "page.html")
    assert open(path, encoding="utf-8").read() == page.html
    assert "<title>p &amp; q &lt;demo&gt;</title>" in page.html
    frame = page._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and 'sandbox="allow-scripts"' in frame
    assert "<script" not in frame and "&lt;script" in frame  # the page is escaped into the attribute


def test_names_cannot_break_out_of_the_page():
    x = Tensor(0.5, requires_grad=True, name="</script><script>alert(1)</script>", dtype=np.float64)
    page = viz.explore((x * 2).tanh())
    assert page.html.count("<script") == 2  # the data block and our script
    assert x.name in [t["name"] for t in data_of(page)["tensors"]]  # intact once JSON.parse reads it


def test_json_and_svg_preparation():
    assert page_json({"a": "</script>", "b": [1.5]}) == '{"a":"\\u003c/script>","b":[1.5]}'
    with pytest.raises(ValueError):
        page_json({"a": float("nan")})  # NaN must be written as a string for JSON.parse
    svg = (
        '<?xml version="1.0"?>\n<svg width="10pt" height="20pt" viewBox="0 0 10 20">\n<g id="graph0" class="graph">\n'
        '<title>g</title>\n<!-- n1 -->\n<g id="n1" class="node">\n<title>n1</title>\n<g id="a_n1"><a xlink:title="'
        'secret 0.5">\n<text>|grad| 0.5</text></a></g></g>\n<g id="edge1" class="edge">\n<title>n0&#45;&gt;n1</title>'
        "\n</g></g></svg>"
    )
    out = prepare_svg(svg)
    assert out.startswith('<svg viewBox="0 0 10 20" width="100%" height="100%">')
    assert '<g id="tg-n1" class="node" data-n="n1">' in out
    assert '<g id="edge1" class="edge" data-s="tg-n0" data-d="tg-n1">' in out
    assert "secret" not in out and "<title>" not in out and "<!--" not in out


def test_bad_inputs_say_what_to_do():
    with pytest.raises(TypeError, match="Tensor or a Record"):
        viz.explore(3.0)
    with pytest.raises(ValueError, match="leaf"):
        viz.explore(Tensor(1.0, requires_grad=True))
    with pytest.raises(ValueError, match="scalar"):
        viz.explore(Tensor(np.ones(3), requires_grad=True) * 2)
    with ta.record_backward() as rec:
        pass
    with pytest.raises(ValueError, match="empty"):
        viz.explore(rec)
    out = pq()[0]
    out.backward()  # frees the graph
    with pytest.raises(RuntimeError, match="record_backward"):
        viz.explore(out)


def test_a_copy_of_a_shared_weight_fills_up_only_from_its_own_step_on():
    loss, _, params = analysis.unroll_tanh_rnn(T=3, H=4, seed=0)
    page = viz.explore(loss)
    nodes, graph = page.data["nodes"], page.graph
    copies = [n for n in graph.nodes if n.kind == "ref"]
    assert {n.label[0] for n in copies} >= {"W_h", "W_x", "b"}
    for n in copies:
        fed = [e.dst for e in graph.edges if e.src == n.id]
        first = min(min(nodes[f"tg-{o}"]["s"]) for o in fed)
        ev = nodes[f"tg-{n.id}"]["ev"]
        assert ev and ev[0][0] == first  # blank until the step that passes its contribution
    main = nodes["tg-" + graph.node_for(params["W_h"]).id]["ev"]
    last_copy = max((nodes[f"tg-{n.id}"]["ev"] for n in copies if n.label[0] == "W_h"), key=len)
    assert main[-len(last_copy) :] == last_copy


def test_tiny_gradients_keep_their_norm():
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True, name="x", dtype=np.float64)
    page = viz.explore((x * 1e-180).sum())  # x.grad = 1e-180 each: its square underflows float64
    step = page.data["steps"][1]
    assert step["ins"][0]["c"]["norm"] == pytest.approx(np.sqrt(3) * 1e-180, rel=1e-6)
    ev = page.data["nodes"]["tg-" + page.graph.node_for(x).id]["ev"]
    assert ev[-1][4] == pytest.approx(np.sqrt(3) * 1e-180, rel=1e-6) and ev[-1][1] != colors.ZERO_FILL
