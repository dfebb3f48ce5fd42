"""DOT output: golden file (byte-identical across runs), determinism, escaping of every label."""

import os
import re
import subprocess
import sys

import numpy as np

import tinygrad_attn as ta
import viz
from tinygrad_attn import Tensor

GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "small_graph.dot")


def golden_graph():
    """A fixed little graph, drawn from the record of its backward: a scoped scalar tanh chain times a named weight."""
    x = Tensor(0.5, requires_grad=True, name="x", dtype=np.float64)
    w = Tensor(np.array([1.0, -2.0]), requires_grad=True, name="w")
    h = x
    with ta.scope("chain"):
        for k in range(1, 4):
            h = h.tanh()
            h.name = f"h_{k}"
    loss = (w * h).sum()
    with ta.record_backward() as rec:
        loss.backward()
    return viz.draw(rec)


def test_golden_dot_file():
    src = golden_graph().source
    if os.environ.get("UPDATE_GOLDEN"):
        with open(GOLDEN, "w", encoding="utf-8") as f:
            f.write(src)
    with open(GOLDEN, encoding="utf-8") as f:
        assert src == f.read(), "DOT changed; if on purpose, rerun with UPDATE_GOLDEN=1"


def test_same_program_same_bytes_in_a_fresh_process():
    code = "import sys; sys.path.insert(0, %r); import test_viz_dot as t; sys.stdout.write(t.golden_graph().source)"
    out = subprocess.run(
        [sys.executable, "-c", code % os.path.dirname(__file__)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "123"},
    ).stdout
    assert out == golden_graph().source


def test_ids_come_from_walk_order_not_id():
    src = golden_graph().source
    ids = re.findall(r"^\s+(n\d+) \[", src, flags=re.M)
    assert sorted(ids, key=lambda s: int(s[1:])) == [f"n{i}" for i in range(len(ids))]
    assert "0x" not in src


NASTY = ['say "hi"', "{braces}", "<b>bold</b>", "a|b", "back\\slash", "two\nlines", "<", "}{|<>"]


def nasty_graph():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True, name=NASTY[0])
    out = x
    for name in NASTY[1:]:
        with ta.scope(name.replace("\n", " ").replace("/", "")):  # "/" nests scopes
            out = out * 1.5
            out.name = name
    loss = out.sum()
    loss.name = "<loss>"
    loss.backward(retain_grad=True)
    return viz.draw(loss)


def test_every_label_is_escaped_and_renders():
    g = nasty_graph()
    src = g.source
    assert "label=<" not in src  # no HTML-like labels anywhere, the legend included
    assert 'label="<loss>' in src  # quoted, so not read as HTML
    svg = g.pipe("svg").decode()  # through whichever renderer is present
    for text in ("say &quot;hi&quot;", "{braces}", "&lt;b&gt;bold&lt;/b&gt;", "a|b", "back\\slash", "two lines"):
        assert text in svg, text
    assert "&lt;loss&gt;" in svg


def test_scope_names_are_escaped_in_cluster_labels():
    g = nasty_graph()
    assert "{braces}" in g.clusters and "}{|<>" in g.clusters and "<b>bold<b>" in g.clusters
    assert "subgraph cluster_" in g.source
