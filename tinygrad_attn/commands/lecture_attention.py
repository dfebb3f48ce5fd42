"""Table 3 (the ten scores of Galassi et al. and the maps they learned) and the Transformer's attention.

Queries run down the rows of every map and keys across: a row is one output (query) letter, its
weights over the input (key) letters.
"""

from __future__ import annotations

import numpy as np

from .. import data, nn, seed
from .lecture_common import both, train_steps
from .lecture_maps import table3_runs

TRANSFORMER_STEPS = 300
FORMULAS = {
    "similarity": r"$\beta(q)\,\cos(q, k)$",
    "dot": r"$q^\top k$",
    "scaled_dot": r"$q^\top k$ / √$d_k$",  # a plain √: mathtext's radical needs a font browsers lack
    "general": r"$q^\top W k$",
    "biased_general": r"$k^\top (W q + b)$",
    "activated_general": r"$\tanh(q^\top W k + b)$",
    "concat": r"$w^\top \tanh(W [k; q] + b)$",
    "additive": r"$w^\top \tanh(W_1 k + W_2 q + b)$",
    "deep": r"$w^\top \tanh(W_2 \tanh(W_1 [k;q] + b_1) + b_2)$",
    "location": r"$(W q + b)_{1..T}$",
}


def score_parameters(score, H=256, max_len=29):
    """The number of parameters of one score function at query and key size H."""
    att = nn.Attention(score, query_dim=H, key_dim=H, max_len=max_len)
    return int(sum(p.data.size for p in att.parameters()))


def fig_table3(out, lang="en", quick=False, scores_dir=None):
    """Table 3: the ten scores, each with its formula, parameter count, accuracy and the map it learned."""
    from viz import plots

    from .lecture_words import word

    runs, source = table3_runs(scores_dir, quick)
    maps, params = [], {}
    for s in nn.SCORES:
        params[s] = score_parameters(s)
        r, m = runs[s], runs[s]["maps"][0]
        maps.append(
            {
                "weights": m["weights"],
                "rows": list(m["answer"]),
                "cols": list(m["question"]),
                "title": f"{s}\n{FORMULAS[s]}",  # one line each: mathtext is parsed line by line
                "note": word("table3.note", lang, params=params[s], acc=100 * r["best_accuracy"]),
            }
        )
    questions = sorted({runs[s]["maps"][0]["question"] for s in nn.SCORES})
    on = ", ".join(repr(q) for q in questions)
    paths, files = both(out, "table3_scores")
    plots.attention_grid(
        maps, paths, title=word("table3.title", lang, on=on), ncols=4, query_label=word("query.answer", lang),
        key_label=word("key.input", lang), bar_label=word("weight", lang), width=12.5, fontsize=11,
    )  # fmt: skip
    trained = [s for s in nn.SCORES if source[s] == "trained"]
    return {
        "files": files,
        "source": source,
        "questions": questions,
        "question": {s: runs[s]["maps"][0]["question"] for s in nn.SCORES},
        "parameters": params,
        "accuracy": {s: float(runs[s]["best_accuracy"]) for s in nn.SCORES},
        "epochs": {s: len(runs[s].get("epochs", [])) for s in nn.SCORES if source[s] != "trained"},
        "trained_steps": runs[trained[0]]["steps"] if trained else 0,
    }


def fig_transformer(out, lang="en", quick=False):
    """The Transformer's attention: each head of a trained encoder layer on one reversal word, and cross-attention."""
    from viz import plots

    from .lecture_words import word
    from .train import evaluate

    d = data.TASKS["reversal"](n_train=4000, n_test=200, seed=0)
    seed(0)
    model = nn.Transformer(len(d.vocab), d_model=32, n_heads=4, n_layers=1, max_len=16)
    steps = 10 if quick else TRANSFORMER_STEPS
    train_steps(model, d.x_train, d.t_train, steps, 5e-3, "transformer: training on reversal")
    acc = evaluate(model, d.x_test, d.t_test, d.vocab.start_id)
    model.eval()
    lengths = [len(d.vocab.decode(x).rstrip()) for x in d.x_test]
    i = int(np.argmax(lengths))  # the first of the longest test words
    x, n = d.x_test[i : i + 1], lengths[i]
    ids = model.generate(x, d.vocab.start_id, d.t_test.shape[1] - 1)
    letters = list(d.vocab.decode(x[0]))[:n]
    self_w = model.encoder[0].attn_weights[0][:, :n, :n]  # (heads, n, n), from generate's encoder pass
    cross = model.attention_weights[0][:n, :n]  # (n, n): the answer's n letters over the word's
    answer = list(d.vocab.decode(ids[0]))[:n]
    q_in, q_out, key = word("query.input", lang), word("query.answer", lang), word("key.input", lang)
    maps = [
        {"weights": self_w[h], "rows": letters, "cols": letters, "title": word("transformer.head", lang, h=h + 1),
         "query": q_in, "key": key}
        for h in range(self_w.shape[0])
    ]  # fmt: skip
    maps.append({"weights": cross, "rows": answer, "cols": letters, "title": word("transformer.cross", lang),
                 "query": q_out, "key": key})  # fmt: skip
    paths, files = both(out, "fig_transformer_attention")
    plots.attention_grid(
        maps, paths, ncols=5, width=12.5, fontsize=11, bar_label=word("weight", lang),
        title=word("transformer.title", lang, steps=steps, acc=100 * acc, word="".join(letters)),
    )  # fmt: skip
    return {
        "files": files,
        "steps": steps,
        "accuracy": float(acc),
        "word": "".join(letters),
        "answer": "".join(answer),
        "heads": int(self_w.shape[0]),
    }
