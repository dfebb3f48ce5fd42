"""The computations behind the lecture's figures; each function draws its figure and returns its numbers.

Every `fig_*(out, quick)` writes its picture(s) into the folder `out` and returns a dict: `files`
(the file names written) and the numbers its caption quotes. Nothing here is precomputed: each
figure comes from a forward and backward pass of the engine (the score maps of Table 3 may be
read from the study's JSON files, see `fig_table3`).
"""

from __future__ import annotations

import glob
import json
import os
import time

import numpy as np

from .. import data, nn, optim
from .. import functional as F
from ..autograd import scope
from ..creation import concat, seed
from ..record import record_backward
from ..tensor import Tensor
from . import analysis

TOM = "Tom was watching TV in his room . Mary came into the room . Mary said hi to"
RADIUS_64 = 0.5  # spectral radius of W_h for the vanishing tanh RNN of figure 6-4
FORGET_BIAS = 1.0  # the LSTM of figure 6-4: forget-gate bias 1 (Gers et al. 2000; Jozefowicz et al. 2015)
RADII_67 = (0.8, 1.0, 1.25)
T_67 = 20
TRANSFORMER_STEPS = 300
TABLE3_STEPS = 500  # per score, only for scores missing from the study's files
SCORES_DIR = os.path.join("docs", "models", "scores")


def _p(out, name):
    return os.path.join(out, name)


def fig_6_2(out, quick=False):
    """Figure 6-2: one tanh RNN layer over T=3 steps in the per-step form, drawn with its gradients."""
    import viz

    seed(0)
    T, D, H = 3, 2, 3
    rnn = nn.RNN(D, H, per_step=True)
    xs = Tensor(np.random.default_rng(0).standard_normal((1, T, D)).astype(np.float32), requires_grad=True, name="xs")
    states = rnn.unroll(xs)  # [h_1, ..., h_T], each (1, H)
    loss = states[-1].sum()
    loss.name = "L"
    with record_backward() as rec:
        loss.backward(retain_grad=True)
    title = "Figure 6-2: h_t = tanh(h_(t-1) W_h + x_t W_x + b), T=3 steps, coloured by |dL/d.|"
    g = viz.draw(rec, title=title)  # the record gives the edges their local derivatives
    g.render(_p(out, "fig6_2_rnn_graph.png"))
    g.render(_p(out, "fig6_2_rnn_graph.svg"))
    files = ["fig6_2_rnn_graph.png", "fig6_2_rnn_graph.svg"]
    if hasattr(viz, "explore"):
        viz.explore(rec, title=title).save(_p(out, "fig6_2_explore.html"))
        files.append("fig6_2_explore.html")
    ops = [s.op for s in rec.steps]
    return {
        "files": files,
        "T": T,
        "matmuls": ops.count("MatMul"),
        "steps": len(rec.steps),
        "grad_h": [float(np.linalg.norm(h.grad.data)) for h in states],
        "names": [h.name for h in states],
    }


def tom_sentence():
    """The words of the lecture's sentence, a word vocabulary over them, and the answer's id."""
    vocab = data.Vocab(level="word").add(TOM).add("?")
    return TOM.split(), vocab, int(vocab.encode("Tom")[0])


def _tom_grads(kind, vocab, ids, target, D=16, H=16, radius=RADIUS_64, forget_bias=FORGET_BIAS):
    """||dL/dx_t|| (T,) per word: embedding -> (tanh RNN | LSTM | tanh RNN + attention) -> logits -> CE('Tom').

    radius: spectral radius W_h is rescaled to (None: the default init N(0, 1/H)); forget_bias: the LSTM's.
    """
    seed(1)
    rng = np.random.default_rng(1)
    emb = nn.Embedding(len(vocab), D)
    W_x = rng.standard_normal((D, H)) / np.sqrt(D)
    W_h = rng.standard_normal((H, H)) / np.sqrt(H)
    if kind in ("rnn", "attention") and radius is not None:
        W_h = analysis.scaled_to_radius(W_h, radius)
    if kind == "lstm":
        cell = nn.LSTM(D, H, per_step=True)
        cell.b.data[:H] = forget_bias  # gate order f, g, i, o: the first H columns are the forget gate
    else:
        cell = nn.RNN.from_weights(W_x.astype(np.float32), W_h.astype(np.float32), np.zeros(H, np.float32), True)
    head = nn.Linear(2 * H if kind == "attention" else H, len(vocab))
    x = emb(ids[None])  # (1, T, D)
    x.retain_grad()
    hs, state = cell(x)
    h_T = state[0] if isinstance(state, tuple) else state
    if kind == "attention":
        att = nn.Attention("dot")
        context, weights = att(h_T, hs, hs)  # the last state asks every state
        h_T = concat([context, h_T], axis=1)
    loss = F.cross_entropy(head(h_T), np.array([target]))
    loss.backward()
    return np.linalg.norm(x.grad.data[0], axis=-1)  # (T,)


def _default_radius(H=16):
    rng = np.random.default_rng(1)
    rng.standard_normal((H, H))  # W_x is drawn first in _tom_grads
    return float(np.max(np.abs(np.linalg.eigvals(rng.standard_normal((H, H)) / np.sqrt(H)))))


def fig_6_4(out, quick=False):
    """Figure 6-4: the gradient of the loss for 'Tom' that reaches each word, tanh RNN vs LSTM vs attention."""
    from viz import plots

    words, vocab, tom = tom_sentence()
    ids = vocab.encode(TOM)
    runs = {
        f"tanh RNN, rho(W_h) = {RADIUS_64}": _tom_grads("rnn", vocab, ids, tom),
        f"LSTM, forget bias {FORGET_BIAS:g}": _tom_grads("lstm", vocab, ids, tom),
        f"tanh RNN (rho = {RADIUS_64}) + attention": _tom_grads("attention", vocab, ids, tom),
    }
    plots.gradient_by_token(
        runs,
        words,
        _p(out, "fig6_4_tom_gradient.png"),
        title="Figure 6-4: the gradient of -log p('Tom') reaching each word (one backward pass)",
    )
    ratio = dict(zip(("rnn", "lstm", "attention"), (float(v[0] / v[-1]) for v in runs.values())))
    default = _tom_grads("rnn", vocab, ids, tom, radius=None)
    lstm0 = _tom_grads("lstm", vocab, ids, tom, forget_bias=0.0)
    ratio.update(rnn_default=float(default[0] / default[-1]), lstm_bias0=float(lstm0[0] / lstm0[-1]))
    return {
        "files": ["fig6_4_tom_gradient.png"],
        "words": words,
        "vocab_size": len(vocab),
        "norms": dict(zip(("rnn", "lstm", "attention"), ([float(a) for a in v] for v in runs.values()))),
        "tom_over_to": ratio,
        "radius": RADIUS_64,
        "default_radius": _default_radius(),
        "forget_bias": FORGET_BIAS,
    }


def matmul_chain(radius, T=T_67, H=8, seed_=0):
    """Backprop through h_t = h_(t-1) W_h only, W_h = radius * Q (Q orthogonal, H x H).

    Returns (norms (T+1,), record, h_0): norms[k] = ||dL/dh_(T-k)||, read from the engine's backward record.
    """
    rng = np.random.default_rng(seed_)
    Q, _ = np.linalg.qr(rng.standard_normal((H, H)))
    W = Tensor(radius * Q, name="W_h")
    h0 = Tensor(rng.standard_normal((1, H)), requires_grad=True, name="h_0")
    h = h0
    for t in range(1, T + 1):
        with scope(f"t={t}"):
            h = h @ W
        h.name = f"h_{t}"
    g = rng.standard_normal((1, H))
    loss = (h * Tensor(g / np.linalg.norm(g), name="dL/dh_T")).sum()
    loss.name = "L"
    with record_backward() as rec:
        loss.backward(retain_grad=True)
    mm = [s for s in rec.steps if s.op == "MatMul"]  # processed t = T, T-1, ..., 1
    norms = [float(np.linalg.norm(s.grad)) for s in mm] + [float(np.linalg.norm(mm[-1].contributions[0]))]
    return np.array(norms), rec, h0


def fig_6_7(out, quick=False):
    """Figure 6-7: the gradient passed back through MatMul nodes only, for radius below, at and above 1."""
    import viz
    from viz import plots

    runs = {r: matmul_chain(r)[0] for r in RADII_67}
    plots.gain_and_product(
        {f"W_h = {r} Q  (every singular value {r})": n for r, n in runs.items()},
        _p(out, "fig6_7_matmul_gain.png"),
        title=f"Figure 6-7: backprop through MatMul only, {T_67} steps (g <- g W_h^T each step)",
    )
    _, rec, _ = matmul_chain(RADII_67[-1], T=4)
    g = viz.draw(rec, constants=True, title=f"Figure 6-7: only MatMul nodes, W_h = {RADII_67[-1]} Q, 4 steps")
    g.render(_p(out, "fig6_7_matmul_graph.png"))
    gains = {r: (n[1:] / n[:-1]).tolist() for r, n in runs.items()}
    return {
        "files": ["fig6_7_matmul_gain.png", "fig6_7_matmul_graph.png"],
        "T": T_67,
        "gain": {str(r): float(np.mean(v)) for r, v in gains.items()},
        "product": {str(r): float(n[-1] / n[0]) for r, n in runs.items()},
    }


def fig_tanh(out, quick=False):
    """tanh and its derivative, the derivative from the engine's backward: tanh'(x) = 1 - tanh(x)^2 <= 1."""
    from viz import plots

    x = Tensor(np.linspace(-4, 4, 401), requires_grad=True, name="x")
    y = x.tanh()
    y.sum().backward()
    dy = x.grad.data
    plots.function_and_derivative(
        x.data,
        y.data,
        dy,
        _p(out, "fig_tanh_derivative.png"),
        names=("y = tanh(x)", "dy/dx = 1 - y^2 (from backward)"),
        title="tanh' <= 1: every tanh node on the way back shrinks the gradient",
    )
    at = {str(v): float(1 - np.tanh(v) ** 2) for v in (0.0, 1.0, 2.0)}
    return {"files": ["fig_tanh_derivative.png"], "max_derivative": float(dy.max()), "at": at}


def fig_seq2seq(out, quick=False):
    """Seq2Seq: the encoder's states for a date, and the last one, the only vector the decoder gets."""
    import viz
    from viz import plots

    d = data.TASKS["dates"](n_train=8, n_test=1, seed=0)
    seed(0)
    H = 32
    model = nn.Seq2Seq(len(d.vocab), 16, H)
    x, t = d.x_train[:1], d.t_train[:1]
    enc_hs, h_T = model._encode(x)
    q = d.vocab.decode(x[0])
    n = len(q.rstrip())
    plots.states_and_context(
        enc_hs.data[0][:n],
        list(q[:n]),
        _p(out, "fig_seq2seq_context.png"),
        title=f"Seq2Seq encoder (LSTM, H={H})\non {q[:n]!r}",
    )
    small = nn.Seq2Seq(len(d.vocab), 4, 4)
    logits = small(x, t[:, :4])
    logits.name = "logits"
    logits.retain_grad()
    F.cross_entropy(logits, t[:, 1:5]).backward(retain_grad=True)
    g = viz.draw(
        logits,
        constants=False,
        derivatives=False,
        collapse=["encoder", "decoder"],
        title="Seq2Seq: the encoder hands the decoder one vector (its last state h_T)",
    )
    g.render(_p(out, "fig_seq2seq_graph.png"))
    return {
        "files": ["fig_seq2seq_context.png", "fig_seq2seq_graph.png"],
        "question": q[:n],
        "chars": n,
        "hidden": H,
        "context_norm": float(np.linalg.norm(h_T.data)),
    }


def fig_8_18(out, quick=False):
    """Figure 8-18: the decoder with attention as a block diagram, drawn from a real model (clusters collapsed)."""
    import viz

    d = data.TASKS["dates"](n_train=8, n_test=1, seed=0)
    seed(0)
    model = nn.AttentionSeq2Seq(len(d.vocab), 4, 4, score="dot", max_len=d.x_train.shape[1])
    x, t = d.x_train[:1], d.t_train[:1]
    logits = model(x, t[:, :4])
    logits.name = "logits"
    logits.retain_grad()
    loss = F.cross_entropy(logits, t[:, 1:5])
    loss.backward(retain_grad=True)
    g = viz.draw(
        logits,
        constants=False,
        derivatives=False,
        collapse=["encoder", "decoder", "attention"],
        title="Figure 8-18: decoder with attention (encoder, decoder LSTM, attention: one box each)",
    )
    g.render(_p(out, "fig8_18_attention_decoder.png"))
    g.render(_p(out, "fig8_18_attention_decoder.svg"))
    inside = viz.draw(
        logits,
        constants=False,
        derivatives=False,
        collapse=["encoder", "decoder"],
        title="Figure 8-18, the attention box opened: scores = hs_dec hs_enc^T, softmax, weights hs_enc",
    )
    inside.render(_p(out, "fig8_18_attention_open.png"))
    return {
        "files": ["fig8_18_attention_decoder.png", "fig8_18_attention_decoder.svg", "fig8_18_attention_open.png"],
        "boxes": sorted({n.label[0] for n in g.nodes if n.kind == "summary"}),
        "loss": float(loss.item()),
    }


FORMULAS = {
    "similarity": r"$\beta(q)\,\cos(q, k)$",
    "dot": r"$q^\top k$",
    "scaled_dot": r"$q^\top k / \sqrt{d_k}$",
    "general": r"$q^\top W k$",
    "biased_general": r"$k^\top (W q + b)$",
    "activated_general": r"$\tanh(q^\top W k + b)$",
    "concat": r"$w^\top \tanh(W [k; q] + b)$",
    "additive": r"$w^\top \tanh(W_1 k + W_2 q + b)$",
    "deep": r"$w^\top \tanh(W_2 \tanh(W_1 [k;q] + b_1) + b_2)$",
    "location": r"$(W q + b)_{1..T_k}$",
}


def _study_maps(scores_dir):
    """{score: run dict} from the study's finished seed-0 JSON files (no options), or {}."""
    found = {}
    for path in sorted(glob.glob(os.path.join(scores_dir, "*_seed0.json"))):
        with open(path) as f:
            run = json.load(f)
        if run.get("options") or not run.get("maps") or not run.get("finished"):
            continue  # variants, and runs still going, are not what the score learned
        found[run["score"]] = run
    return found


def _train_maps(scores, quick):
    """Train each score briefly on reversing letter strings (not the study, not dates); {score: run-like dict}.

    Reversal is the smallest task that needs alignment: H = 32, 500 steps of 64 reach 90-100 % for most
    scores in about 8 s of CPU each.
    """
    from .train import evaluate

    d = data.TASKS["reversal"](n_train=4000, n_test=200, seed=0)
    steps = 4 if quick else TABLE3_STEPS
    found = {}
    for s in scores:
        seed(0)
        m = nn.AttentionSeq2Seq(len(d.vocab), 16, 32, score=s, max_len=d.x_train.shape[1])
        opt = optim.Adam(m.parameters(), lr=5e-3)
        rng = np.random.default_rng(0)
        k = 0
        while k < steps:
            for xb, tb in data.batches(d.x_train, d.t_train, 64, rng=rng, drop_last=True):
                loss = F.cross_entropy(m(xb, tb[:, :-1]), tb[:, 1:])
                opt.zero_grad()
                loss.backward()
                opt.step()
                k += 1
                if k == steps:
                    break
        acc = evaluate(m, d.x_test, d.t_test, d.vocab.start_id)
        m.eval()
        lengths = [len(d.vocab.decode(x).rstrip()) for x in d.x_test]
        i = int(np.argmax(lengths))  # the first of the longest test words
        ids = m.generate(d.x_test[i : i + 1], d.vocab.start_id, d.t_test.shape[1] - 1)
        q, n = d.vocab.decode(d.x_test[i]), lengths[i]
        found[s] = {
            "best_accuracy": acc,
            "maps": [
                {
                    "question": q[:n],
                    "answer": d.vocab.decode(ids[0])[:n],
                    "weights": m.attention_weights[0][:n, :n].tolist(),
                }
            ],
            "steps": steps,
        }
    return found


def fig_table3(out, quick=False, scores_dir=SCORES_DIR):
    """Table 3: the ten scores, each with its formula, parameter count and the map it learned on one date."""
    from viz import plots

    runs = _study_maps(scores_dir)
    source = "study"
    missing = [s for s in nn.SCORES if s not in runs]
    if missing:
        runs.update(_train_maps(missing, quick))
        source = "study+trained" if len(missing) < len(nn.SCORES) else "trained"
    maps, params = [], {}
    for s in nn.SCORES:
        att = nn.Attention(s, query_dim=256, key_dim=256, max_len=29)
        params[s] = int(sum(p.data.size for p in att.parameters()))
        r = runs[s]
        m = r["maps"][0]
        how = (
            f"dates, study seed 0, {len(r['epochs'])} epochs{'' if r.get('finished') else ' (unfinished)'}"
            if "steps" not in r
            else f"reversal, trained here {r['steps']} steps"
        )
        maps.append(
            {
                "weights": m["weights"],
                "rows": list(m["answer"]),
                "cols": list(m["question"]),
                "title": f"{s}: {FORMULAS[s]}\n{params[s]:,} parameters (H=256), acc {100 * r['best_accuracy']:.1f} %",
                "note": how,
            }
        )
    questions = {"steps" in r: r["maps"][0]["question"] for r in runs.values()}
    on = " and ".join(f"{q!r}" for q in questions.values())
    plots.attention_grid(
        maps,
        _p(out, "table3_scores.png"),
        title=f"Table 3 (Galassi et al.): the ten scores and the attention each learned on {on}",
    )
    return {
        "files": ["table3_scores.png"],
        "source": source,
        "date": questions.get(False),
        "word": questions.get(True),
        "parameters": params,
        "accuracy": {s: float(runs[s]["best_accuracy"]) for s in nn.SCORES},
        "from_study": [s for s in nn.SCORES if "steps" not in runs[s]],
        "trained_steps": next((runs[s]["steps"] for s in nn.SCORES if "steps" in runs[s]), 0),
    }


def fig_transformer(out, quick=False):
    """The Transformer's self-attention: each head of a trained encoder layer on one reversal word."""
    from viz import plots

    from .train import evaluate

    d = data.TASKS["reversal"](n_train=4000, n_test=200, seed=0)
    seed(0)
    model = nn.Transformer(len(d.vocab), d_model=32, n_heads=4, n_layers=1, max_len=16)
    opt = optim.Adam(model.parameters(), lr=5e-3)
    rng = np.random.default_rng(0)
    steps, k, t0 = (10 if quick else TRANSFORMER_STEPS), 0, time.perf_counter()
    while k < steps:
        for xb, tb in data.batches(d.x_train, d.t_train, 64, rng=rng, drop_last=True):
            loss = F.cross_entropy(model(xb, tb[:, :-1]), tb[:, 1:])
            opt.zero_grad()
            loss.backward()
            opt.step()
            k += 1
            if k == steps:
                break
    seconds = time.perf_counter() - t0
    acc = evaluate(model, d.x_test, d.t_test, d.vocab.start_id)
    model.eval()
    lengths = [len(d.vocab.decode(x).rstrip()) for x in d.x_test]
    i = int(np.argmax(lengths))  # the first of the longest test words
    x, n = d.x_test[i : i + 1], lengths[i]
    ids = model.generate(x, d.vocab.start_id, d.t_test.shape[1] - 1)
    word = list(d.vocab.decode(x[0]))[:n]
    self_w = model.encoder[0].attn_weights[0][:, :n, :n]  # (heads, n, n), from generate's encoder pass
    cross = model.attention_weights[0][:n, :n]  # (n, n): the answer's n letters over the word's
    answer = list(d.vocab.decode(ids[0]))[:n]
    maps = [
        {"weights": self_w[h], "rows": word, "cols": word, "title": f"encoder self-attention, head {h + 1}"}
        for h in range(self_w.shape[0])
    ]
    maps.append({"weights": cross, "rows": answer, "cols": word, "title": "decoder cross-attention (mean of heads)"})
    plots.attention_grid(
        maps,
        _p(out, "fig_transformer_self_attention.png"),
        title=f"Transformer (1 layer, 4 heads, d=32) after {steps} steps on reversal: {''.join(word).strip()!r}",
    )
    return {
        "files": ["fig_transformer_self_attention.png"],
        "steps": steps,
        "seconds": seconds,
        "accuracy": acc,
        "word": "".join(word).strip(),
        "answer": "".join(answer).strip(),
    }


FIGURES = {
    "6-2": fig_6_2,
    "6-4": fig_6_4,
    "6-7": fig_6_7,
    "tanh": fig_tanh,
    "seq2seq": fig_seq2seq,
    "8-18": fig_8_18,
    "table3": fig_table3,
    "transformer": fig_transformer,
}
