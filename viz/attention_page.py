"""`viz.explore_attention(model, src, tgt)`: attention weights beside dL/d(weights), token to token, in one page.

    page = viz.explore_attention(model, src, tgt)   # src (1, S) ids; tgt (1, T+1): start id, then the answer
    page.save("attention.html")

The model reads `src` and, teacher-forced, `tgt[:, :-1]`; the loss is the cross-entropy of
`tgt[:, 1:]`, the answer given. One backward inside `ta.record_backward()` gives the gradient
that reached each attention weight. The weights are found as the outputs of the `Attention`
and `MultiHeadAttention` calls (`tinygrad_attn.calls.calls_of`), one entry per head. The page draws lines
between the question's tokens and the answer's (BertViz-style, our own script `attention.js`)
and exposes `window.tinygradAttn.attention` = [{name, queries, keys, weights, grads}].
"""

from __future__ import annotations

import html

import numpy as np

from tinygrad_attn import Tensor
from tinygrad_attn import functional as F
from tinygrad_attn.calls import calls_of
from tinygrad_attn.record import record_backward

from .explore_numbers import nums
from .explore_page import asset, page_json
from .html_page import HtmlPage
from .walk import walk

ATTENTION_CALLS = ("Attention", "MultiHeadAttention")


class AttentionPage(HtmlPage):
    """The page of one question: `attention` (the entries), `html`, `save(path)`, inline in Jupyter."""

    frame_title = "attention beside its gradient"

    def __init__(self, html_text: str, attention: list):
        super().__init__(html_text)
        self.attention = attention

    def __repr__(self):
        return f"AttentionPage({len(self.attention)} maps)"


def explore_attention(model, src, tgt, *, src_tokens=None, tgt_tokens=None, reverse=False, title=None):
    """The attention page of a seq2seq model for one question `src` (1, S) and answer `tgt` (1, T+1).

    src_tokens, tgt_tokens: labels of the S source and T+1 target ids (default: the ids). reverse:
    the model read the question reversed; its key columns are put back in reading order.
    """
    src, tgt = _ids(src, "src"), _ids(tgt, "tgt")
    if tgt.shape[1] < 2:
        raise ValueError(f"explore_attention: tgt of shape {tgt.shape} needs the start id and at least one answer id")
    logits = model(src, tgt[:, :-1])
    V = logits.shape[-1]
    loss = F.cross_entropy(logits.reshape(-1, V), tgt[:, 1:].reshape(-1))
    with record_backward(accumulate=False) as rec:
        loss.backward(retain_graph=True)
    found = attention_weights(loss)
    if not found:
        raise ValueError(f"explore_attention: {type(model).__name__} has no Attention or MultiHeadAttention call")
    S, T = src.shape[1], tgt.shape[1] - 1
    src_tokens = [str(i) for i in src[0]] if src_tokens is None else [str(t) for t in src_tokens]
    tgt_tokens = [str(i) for i in tgt[0]] if tgt_tokens is None else [str(t) for t in tgt_tokens]
    question, answer_in, answer = src_tokens, tgt_tokens[:-1], tgt_tokens[1:]
    entries = []
    for name, w in found:
        g = rec.grad_of(w)
        g = np.zeros_like(w.data) if g is None else np.asarray(g)
        q_side, k_side = _sides(name, w.shape[-2:], S, T)
        heads = _heads(w.data[0], g[0])
        for h, (wh, gh) in enumerate(heads):
            if reverse and k_side == "src":
                wh, gh = wh[:, ::-1], gh[:, ::-1]
            if reverse and q_side == "src":
                wh, gh = wh[::-1], gh[::-1]
            entries.append(
                {
                    "name": name if len(heads) == 1 else f"{name} head {h + 1}",
                    "queries": _labels(q_side, question, answer, reverse),
                    "keys": _labels(k_side, question, answer_in, reverse),
                    "weights": [nums(row) for row in wh],
                    "grads": [nums(row) for row in gh],
                }
            )
    heading = title or f"attention and dL/d(attention) for the answer {' '.join(answer)!r}"
    data = {"title": heading, "loss": float(loss.data), "attention": entries}
    return AttentionPage(_page(data), entries)


def attention_weights(loss) -> list:
    """[(name, weights tensor)] of every attention call behind `loss`, in the order they ran."""
    out = []
    for t in walk(loss):
        for c in calls_of(t):
            if c.label in ATTENTION_CALLS and t.op is not None and t.op.name not in ("MatMul", "Add"):
                out.append((c.first, c.name or c.label, t))
    return [(name, t) for _, name, t in sorted(out, key=lambda x: x[0])]


def _ids(a, what):
    a = np.asarray(a.data if isinstance(a, Tensor) else a)
    a = a.reshape(1, -1) if a.ndim == 1 else a
    if a.ndim != 2 or a.shape[0] != 1 or a.dtype.kind not in "iu":
        raise ValueError(f"explore_attention: {what} must be integer ids of shape (1, length), got {a.dtype} {a.shape}")
    return a


def _sides(name, shape, S, T):
    """("src" | "tgt") of the queries and of the keys of an attention map of `shape` (Tq, Tk)."""
    tq, tk = shape
    if "self_attn" in name:
        return ("src", "src") if name.startswith("encoder") else ("tgt", "tgt")
    if tq == T and tk == S:
        return "tgt", "src"
    return ("src" if tq == S else "tgt"), ("src" if tk == S else "tgt")


def _labels(side, question, target, reverse):
    """Token labels of one side: the question in reading order, or the target tokens (produced or read)."""
    if side == "src":
        return list(reversed(question)) if reverse else list(question)
    return list(target)


def _heads(w, g):
    """Per head, (weights, grads) of shape (Tq, Tk): one head for (Tq, Tk), h for (h, Tq, Tk)."""
    if w.ndim == 2:
        return [(w, g)]
    return [(w[h], g[h]) for h in range(w.shape[0])]


def _page(data: dict) -> str:
    t = html.escape(data["title"])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t}</title>
<style>{asset("attention.css")}</style></head>
<body>
<header><h1>{t}</h1><label>map <select id="which"></select></label>
<span class="hint">lines: left the answer's tokens (queries), right the question's (keys); hover a token</span></header>
<main><section><h2>attention weights &alpha;</h2><svg id="lines-w"></svg><div id="heat-w"></div></section>
<section><h2>dL/d&alpha; for the answer given <span class="key">red &gt; 0 &gt; blue</span></h2>
<svg id="lines-g"></svg><div id="heat-g"></div></section></main>
<div id="numbers"></div>
<script type="application/json" id="tg-data">{page_json(data)}</script>
<script>(function () {{
"use strict";
{asset("attention.js")}
}})();</script>
</body></html>
"""


__all__ = ["AttentionPage", "attention_weights", "explore_attention"]
