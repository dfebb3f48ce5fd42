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
from viz.explore_page import page_json


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


def ten_lines(seed=0):
    """The README's ten lines: cross_entropy(tanh(x @ W), targets)."""
    rng = np.random.default_rng(seed)
    x = Tensor(rng.standard_normal((4, 3)), requires_grad=True, name="x")
    W = Tensor(rng.standard_normal((3, 2)) * 0.5, requires_grad=True, name="W")
    return F.cross_entropy((x @ W).tanh(), np.array([0, 1, 1, 0])), x, W


def attention_loss():
    ta.seed(0)
    model = ta.nn.AttentionSeq2Seq(vocab_size=6, wordvec_size=4, hidden_size=4, cell="rnn")
    tgt = np.array([[4, 5]])
    return F.cross_entropy(model(np.array([[1, 2, 3]]), tgt).reshape(-1, 6), tgt.reshape(-1)), model


def data_of(page):
    """The JSON the page carries, read back from its HTML."""
    m = re.search(r'<script type="application/json" id="tg-data">(.*?)</script>', page.html, re.S)
    return json.loads(m.group(1))


def box(page, t):
    return "tg-" + page.drawing.node_for(t).id


def test_steps_follow_the_record_and_name_the_box_of_each_tensor():
    out, x, p, q = pq()
    page = viz.explore(out)
    rec = page.record
    assert [op for _, op in page.steps] == [s.op for s in rec.steps] == ["Tanh", "Add", "Mul", "Mul"]
    assert [i for i, _ in page.steps] == [box(page, s.tensor) for s in rec.steps]
    assert [i for i, _ in page.steps][2:] == [box(page, p), box(page, q)]  # p before q, as the engine ran them
    assert data_of(page)["steps"] == page.data["steps"]


def test_explore_leaves_every_grad_as_it_found_it():
    out, x, p, q = pq()
    page = viz.explore(out)
    assert x.grad is None and p.grad is None and out.grad is None
    out2, x2, _, _ = pq()
    x2.grad = Tensor(np.float64(7.0))
    viz.explore(out2)
    assert float(x2.grad.data) == 7.0
    assert page.record.grad_of(x) == pytest.approx(5 * (1 - np.tanh(2.5) ** 2))


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
            if c is None:  # the constants 2 and 3
                assert inp["c"] is None
                continue
            assert inp["c"]["v"][0] == pytest.approx(float(c), rel=1e-6) and inp["kind"] == "scalar"
            assert inp["d"]["v"][0] == pytest.approx(float(c) / float(s.grad), rel=1e-6)
    mul_q = steps[3]["ins"][0]  # the second contribution to x: the running sum of both
    assert (mul_q["k"], mul_q["n"]) == (2, 2)
    assert mul_q["cum"]["v"][0] == pytest.approx(float(rec.grad_of(x)), rel=1e-6)


def test_colour_events_reveal_nothing_before_the_step_that_reaches_a_box():
    out, x, p, q = pq()
    page = viz.explore(out)
    nodes, steps = page.data["nodes"], page.data["steps"]
    for k, s in enumerate(steps):
        assert nodes[s["node"]]["ev"][0][0] == k  # a box made by an op first changes at its own step
    ev = nodes[page.drawing.node_for(x).index]["ev"]
    assert [e[0] for e in ev] == [2, 3]  # x fills up: one contribution from p's Mul, one from q's
    assert ev[0][3].endswith("so far") and not ev[1][3].endswith("so far")


def test_the_ten_lines_open_on_cross_entropy_as_one_closed_call():
    loss, x, W = ten_lines()
    page = viz.explore(loss)
    assert page.data["title"] == "backprop through cross_entropy"
    (call,) = page.data["groups"]
    assert (call["label"], call["kind"], call["open"]) == ("cross_entropy", "call", False)
    inside = {page.drawing.nodes[i].tensor.op.name for i in call["nodes"]}
    assert inside == {"Neg", "Mean", "GetItem", "Reshape", "LogSoftmax"}
    assert page.drawing.nodes[call["main"]].tensor is loss and call["outs"] == [call["main"]]
    (tanh,) = [page.drawing.nodes[i].tensor for i in call["ins"]]
    assert tanh.op.name == "Tanh"
    (run,) = call["runs"]  # what the closed call passed to its input: the record's dL/dtanh
    assert run["first"] == 0 and run["last"] == 4
    ((node, S),) = run["ins"]
    np.testing.assert_allclose(S["v"], page.record.grad_of(tanh).ravel(), rtol=1e-6)


def test_matmul_steps_carry_the_product_with_the_transpose():
    loss, x, W = ten_lines()
    page = viz.explore(loss)
    (s,) = [s for s in page.record.steps if s.op == "MatMul"]
    dx, dW = page.data["steps"][s.index]["mm"]
    np.testing.assert_allclose(dx["lhs"]["v"], s.grad, rtol=1e-6)
    np.testing.assert_allclose(dx["rhs"]["v"], W.data.T, rtol=1e-6)
    np.testing.assert_allclose(dx["out"]["v"], s.contributions[0], rtol=1e-6)
    np.testing.assert_allclose(dW["lhs"]["v"], x.data.T, rtol=1e-6)
    np.testing.assert_allclose(dW["out"]["v"], s.contributions[1], rtol=1e-6)
    assert (dW["out"]["r"], dW["out"]["c"]) == (3, 2)


def test_a_zero_incoming_gradient_gives_a_reason_not_nan():
    x = Tensor(np.array([0.1, 0.2, 0.3]), requires_grad=True, name="x", dtype=np.float64)
    page = viz.explore((x.tanh() * np.array([0.0, 1.0, 0.0])).sum())  # Tanh gets 0 at two of three elements
    tanh = next(d for s, d in zip(page.record.steps, page.data["steps"]) if s.op == "Tanh")
    (inp,) = tanh["ins"]
    assert inp["d"]["v"] == [None, pytest.approx(1 - np.tanh(0.2) ** 2), None] and inp["d"]["zero"] == 2
    y = Tensor(0.3, requires_grad=True, name="y", dtype=np.float64)
    page = viz.explore(y.tanh() * 0.0)
    tanh = next(d for s, d in zip(page.record.steps, page.data["steps"]) if s.op == "Tanh")
    assert tanh["ins"][0]["d"] is None and "0 / 0" in tanh["ins"][0]["why"]
    assert "NaN" not in json.dumps(page.data)


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


def test_modules_are_calls_and_recurrent_steps_are_boxes_of_their_call():
    loss, model = attention_loss()
    page = viz.explore(loss, max_nodes=None)
    groups = {g["label"]: g for g in page.data["groups"]}
    assert {"AttentionSeq2Seq", "encoder: RNN", "decoder: RNN", "attention: Attention", "out: Linear"} <= set(groups)
    assert all(not g["open"] for g in page.data["groups"] if g["kind"] in ("call", "step"))
    steps = [g for g in page.data["groups"] if g["kind"] == "step"]
    enc = page.data["groups"].index(groups["encoder: RNN"])
    assert sorted(g["label"] for g in steps if g["parent"] == enc) == ["t=1", "t=2", "t=3"]
    (att,) = page.data["attention"]
    step = page.record.steps[att["step"]]
    assert step.op == "Softmax" and "attention" in step.scope
    np.testing.assert_allclose(att["w"]["v"], model.attention_weights.ravel(), rtol=1e-6)


def test_each_group_passes_on_what_the_record_says():
    loss, _ = attention_loss()
    page = viz.explore(loss)
    rec, nodes = page.record, page.drawing.nodes
    for g in page.data["groups"]:
        (run,) = g["runs"]
        for i, S in run["ins"]:  # the sum of the contributions from inside to one input outside
            inside = set(range(run["first"], run["last"] + 1))
            parts = [c for s, _, c in rec.contributions_to(nodes[i].tensor) if s.index in inside]
            np.testing.assert_allclose(S["norm"], np.linalg.norm(sum(parts)), rtol=1e-5)


def test_max_nodes_closes_open_scopes_deepest_first():
    loss, hs, _ = analysis.unroll_tanh_rnn(T=40, H=4, seed=0)
    assert all(g["open"] for g in viz.explore(loss, max_nodes=None).data["groups"] if g["kind"] == "scope")
    page = viz.explore(loss, max_nodes=60)
    scopes = [g for g in page.data["groups"] if g["kind"] == "scope"]
    assert len(scopes) == 40 and not any(g["open"] for g in scopes)
    assert all(g["open"] for g in viz.explore(loss, max_nodes=60, open_calls=True).data["groups"])


def test_big_graphs_keep_a_few_numbers_per_array():
    x = Tensor(np.linspace(-1, 1, 600), requires_grad=True, name="x")
    h = x
    for _ in range(400):
        h = h.tanh()
    page = viz.explore(h.sum(), max_values=50)
    arrays = [d["g"] for d in page.data["steps"]] + [t["value"] for t in page.data["tensors"]]
    assert max(len(a["v"]) for a in arrays) == 50 and max(a["n"] for a in arrays) == 600


def test_the_page_needs_no_network_and_ships_its_script_and_style():
    page = viz.explore(pq()[0])
    text = page.html
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", text))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink", "https://html.spec.whatwg.org/"}
    for pattern in (r"<script[^>]*\ssrc=", r"<link\b", r"<img\b", r"<iframe\b", r"@import", r"url\(", r"\bfetch\(",
                    r"XMLHttpRequest", r"<use\b", r"\bhref="):  # fmt: skip
        assert not re.search(pattern, text, re.I), pattern
    assert "function layered(" in text and "#minimap" in text


def test_save_writes_the_page_and_jupyter_gets_it_in_a_sandboxed_iframe(tmp_path):
    page = viz.explore(pq()[0], title="p & q <demo>")
    path = page.save(tmp_path / "sub" / "page.html")
    assert open(path, encoding="utf-8").read() == page.html
    assert "<title>p &amp; q &lt;demo&gt;</title>" in page.html
    frame = page._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and 'sandbox="allow-scripts"' in frame
    assert "<script" not in frame and "&lt;script" in frame


def test_names_cannot_break_out_of_the_page():
    x = Tensor(0.5, requires_grad=True, name="</script><script>alert(1)</script>", dtype=np.float64)
    page = viz.explore((x * 2).tanh())
    assert page.html.count("<script") == 2  # the data block and our script
    assert x.name in [t["name"] for t in data_of(page)["tensors"]]
    assert page_json({"a": "</script>", "b": [1.5]}) == '{"a":"\\u003c/script>","b":[1.5]}'
    with pytest.raises(ValueError):
        page_json({"a": float("nan")})  # NaN must be written as a string for JSON.parse


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


def test_tiny_gradients_keep_their_norm():
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True, name="x", dtype=np.float64)
    page = viz.explore((x * 1e-180).sum())  # x.grad = 1e-180 each: its square underflows float64
    step = page.data["steps"][1]
    assert step["ins"][0]["c"]["norm"] == pytest.approx(np.sqrt(3) * 1e-180, rel=1e-6)
    ev = page.data["nodes"][page.drawing.node_for(x).index]["ev"]
    assert ev[-1][4] == pytest.approx(np.sqrt(3) * 1e-180, rel=1e-6) and ev[-1][1] != colors.ZERO_FILL
