"""Layouts: time steps side by side in reading order, collapse/expand by pattern, step labels, width budget."""

import re

import numpy as np
import pytest
from conftest import record

import tinygrad_attn as ta
import viz
from tinygrad_attn.commands.analysis import unroll_tanh_rnn
from viz import layout


def rnn(T):
    """The record of backward through a T-step tanh RNN (H=3)."""
    loss, _, _ = unroll_tanh_rnn(T=T, H=3, radius=1.0, seed=0)
    return record(loss)


def cluster_boxes(g, svg):
    """{cluster path: (x0, x1, y0, y1)} read from the SVG's cluster outlines."""
    out = {}
    pattern = (
        r"<title>cluster_(\d+)</title>[^<]*(?:<g [^>]*><a [^>]*>\s*)?<(?:path|polygon)[^>]* (?:d|points)=\"([^\"]+)\""
    )
    for m in re.finditer(pattern, svg):
        nums = [float(v) for v in re.findall(r"-?[0-9.]+", m.group(2))]
        xs, ys = nums[0::2], nums[1::2]
        out[g.clusters[int(m.group(1))]] = (min(xs), max(xs), min(ys), max(ys))
    return out


def svg_width(svg):
    return float(re.search(r'<svg width="([0-9.]+)pt"', svg).group(1))


def test_time_steps_sort_numerically():
    paths = ["enc", "enc/t=10", "enc/t=2", "dec", "enc/t=1", "dec/t=2", "dec/t=1", "attention"]
    assert layout.order_clusters(paths) == [
        "enc", "enc/t=1", "enc/t=2", "dec", "enc/t=10", "dec/t=1", "dec/t=2", "attention",
    ]  # fmt: skip
    assert layout.step_of("decoder/t=2/attention") == "decoder/t=2" and layout.step_of("encoder") == ""


def test_unrolled_steps_stand_side_by_side_t1_left():
    g = viz.draw(rnn(11), constants=False, max_width=None)
    assert g.rankdir == "BT" and g.clusters == [f"t={t}" for t in range(1, 12)]
    boxes = cluster_boxes(g, g.pipe("svg").decode())
    lefts = [boxes[f"t={t}"][0] for t in range(1, 12)]
    assert lefts == sorted(lefts)  # reading order, t=10 and t=11 after t=9
    for t in range(1, 11):  # one row: each step ends before the next begins, all at the same height
        a, b = boxes[f"t={t}"], boxes[f"t={t + 1}"]
        assert a[1] <= b[0] and a[2] < b[3] and b[2] < a[3]
    assert "constraint=false" in g.source  # the recurrence h_(t-1) -> step t does not push ranks


def test_graph_without_steps_keeps_left_to_right():
    x = ta.Tensor(np.ones(2), requires_grad=True)
    rec = record(x.tanh().sum())
    assert viz.draw(rec).rankdir == "LR" and viz.draw(rec, rankdir="TB").rankdir == "TB"


def test_collapse_by_pattern_and_labels_with_tokens():
    g = viz.draw(rnn(3), collapse="t=*", labels={"t=1": "Tom", "t=3": "cat"})
    summaries = [n for n in g.nodes if n.kind == "summary"]
    assert [n.summary_of for n in summaries] == ["t=1", "t=2", "t=3"] and g.clusters == []
    assert g.rankdir == "LR" and "constraint=false" not in g.source  # collapsed steps chain left to right
    svg = g.pipe("svg").decode()
    assert "t=1: Tom" in svg and "t=3: cat" in svg and ">t=2<" in svg


def test_cluster_labels_carry_tokens_when_open():
    g = viz.draw(rnn(2), labels={"t=2": "sat"})
    assert 'label="t=2: sat"' in g.source and 'label="t=1"' in g.source


def test_expand_keeps_a_step_open_when_the_budget_collapses():
    rec = rnn(6)
    g = viz.draw(rec, max_nodes=40, expand="t=6")
    assert g.clusters == ["t=6"]
    assert sorted(n.summary_of for n in g.nodes if n.kind == "summary") == [f"t={t}" for t in range(1, 6)]
    both = viz.draw(rec, collapse=["t=1", "t=2"], max_nodes=None, max_width=None)
    assert both.clusters == [f"t={t}" for t in range(3, 7)]


def test_width_budget_collapses_a_wide_drawing():
    rec = rnn(8)
    wide = viz.draw(rec, max_width=None)
    assert not wide.model.collapsed
    narrow = viz.draw(rec, max_width=1500)
    assert narrow.model.collapsed and layout.estimate_width(narrow.model, narrow.rankdir) <= 1500


def test_tiny_attention_seq2seq_fits_the_default_width():
    """3 source and 2 target tokens, hidden 4: this drew 10,359 pt wide before steps stood side by side."""
    m = ta.nn.AttentionSeq2Seq(vocab_size=8, wordvec_size=4, hidden_size=4)
    tgt = np.array([[4, 5]])
    out = m(np.array([[1, 2, 3]]), tgt)
    logits = out[0] if isinstance(out, tuple) else out
    loss = ta.functional.cross_entropy(logits.reshape(-1, 8), tgt.reshape(-1))
    g = viz.draw(record(loss))
    assert any(c.endswith("t=3") for c in g.clusters) or any(n.kind == "summary" for n in g.nodes)
    assert svg_width(g.pipe("svg").decode()) <= 2500


@pytest.mark.parametrize("bad", [0, -1])
def test_budget_must_be_positive_or_none(bad):
    with pytest.raises(ValueError, match="max_width"):
        viz.draw(rnn(2), max_width=bad)
