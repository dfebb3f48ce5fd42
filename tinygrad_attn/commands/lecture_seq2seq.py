"""Seq2Seq's context vector (a trained encoder, short against long input) and figure 8-18 (the decoder with
attention), each drawn from a real model with the gradient of one backward pass.
"""

from __future__ import annotations

import numpy as np

from .. import concat, data, nn, record_backward, seed
from .. import functional as F
from .lecture_common import both, log_norm, train_steps

SEQ2SEQ_STEPS = 500  # Adam steps of 64 words: enough to reverse short words, not long ones
SEQ2SEQ_H = 64
SEQ2SEQ_LENGTHS = (2, 6)  # the words the encoder reads: 2 to 6 letters


def reversal_data():
    """Words of 2..6 letters over a..j and their reversals (train 6000, test 300)."""
    lo, hi = SEQ2SEQ_LENGTHS
    return data.TASKS["reversal"](n_train=6000, n_test=300, min_len=lo, max_len=hi, seed=0)


def trained_seq2seq(quick=False):
    """(model, data, seconds-free numbers): a plain Seq2Seq (LSTM, H=64) trained to reverse words."""
    d = reversal_data()
    seed(0)
    model = nn.Seq2Seq(len(d.vocab), 16, SEQ2SEQ_H)
    model.fuse_cells()  # one node per LSTM step while training; the same numbers
    steps = 10 if quick else SEQ2SEQ_STEPS
    loss = train_steps(model, d.x_train, d.t_train, steps, 1e-2, "seq2seq: training the encoder-decoder")
    model.fuse_cells(False)
    model.eval()
    return model, d, {"steps": steps, "final_loss": loss}


def accuracy_by_length(model, d):
    """{input length: fraction of test words reversed exactly} and the greedy answers (N,) as strings."""
    ids = model.generate(d.x_test, d.vocab.start_id, d.t_test.shape[1] - 1)
    answers = [d.vocab.decode(a).rstrip() for a in ids]
    truth = [d.vocab.decode(t[1:]).rstrip() for t in d.t_test]
    lengths = [len(d.vocab.decode(x).rstrip()) for x in d.x_test]
    by = {}
    for n, a, t in zip(lengths, answers, truth):
        by.setdefault(n, []).append(a == t)
    return {n: float(np.mean(v)) for n, v in sorted(by.items())}, answers


def encoder_states(model, x):
    """The encoder's states h_1..h_S (S, H) for one input x (1, S), read from its per-step unroll."""
    states = model.encoder.unroll(model.src_embed(x))
    return np.stack([s[0].data[0] for s in states])


def _show(ch):
    return "·" if ch == " " else ch


def fig_seq2seq(out, lang="en", quick=False):
    """Seq2Seq: a trained encoder's states and context vector for a short and a long word; accuracy by length."""
    from viz import plots

    from .lecture_words import word

    model, d, numbers = trained_seq2seq(quick)
    by_length, answers = accuracy_by_length(model, d)
    lengths = [len(d.vocab.decode(x).rstrip()) for x in d.x_test]
    short, long = int(np.argmin(lengths)), int(np.argmax(lengths))
    panels, chosen = [], {}
    for name, i in (("short", short), ("long", long)):
        q = d.vocab.decode(d.x_test[i])
        states = encoder_states(model, d.x_test[i : i + 1])
        title = word("seq2seq.panel", lang, q=q.rstrip(), n=lengths[i], a=answers[i])
        panels.append({"states": states, "tokens": [_show(c) for c in q], "title": title})
        chosen[name] = {
            "question": q.rstrip(),
            "answer": answers[i],
            "letters": lengths[i],
            "context_norm": float(np.linalg.norm(states[-1])),
        }
    paths, files = both(out, "fig_seq2seq_context")
    plots.states_and_contexts(
        panels, paths, title=word("seq2seq.title", lang), rows_label=word("seq2seq.rows", lang),
        context_label=word("seq2seq.context", lang), unit_label=word("seq2seq.unit", lang),
        value_label=word("seq2seq.value", lang),
        accuracy={"by_length": by_length, "title": word("seq2seq.acc.title", lang),
                  "xlabel": word("seq2seq.acc.x", lang), "ylabel": word("seq2seq.acc.y", lang)},
    )  # fmt: skip
    files += _seq2seq_graph(out, lang, model, d, long)
    return {
        "files": files,
        "hidden": SEQ2SEQ_H,
        "steps": numbers["steps"],
        "final_loss": numbers["final_loss"],
        "accuracy_by_length": {str(k): v for k, v in by_length.items()},
        "short": chosen["short"],
        "long": chosen["long"],
        "positions": int(d.x_test.shape[1]),
    }


def _seq2seq_graph(out, lang, model, d, i):
    """The encoder and decoder unrolled over one test word, each LSTM step filled by ||dL/dh_t||."""
    from viz import colors, diagram
    from viz.diagram import Edge, Frame, Node

    from .lecture_words import word

    x, t = d.x_test[i : i + 1], d.t_test[i : i + 1]
    enc = model.encoder.unroll(model.src_embed(x))  # [(h_t, c_t)]
    h_T = enc[-1][0]
    dec = model.decoder.unroll(model.tgt_embed(t[:, :-1]), h_T)
    hs = [s[0] for s in dec]
    logits = model.out(concat([h.reshape(1, 1, -1) for h in hs], axis=1))
    loss = F.cross_entropy(logits, t[:, 1:])
    with record_backward() as rec:
        loss.backward()
    S, T = len(enc), len(dec)
    q, a = d.vocab.decode(x[0]), d.vocab.decode(t[0])
    pitch = 1.75
    nodes, edges = [], []
    for s in range(S):
        nodes += [
            Node(f"e{s}", s * pitch, 0, "LSTM", log_norm(rec.grad_of(enc[s][0])), w=1.25),
            Node(f"x{s}", s * pitch, -1.15, _show(q[s]), None, "leaf", w=0.55),
        ]
        edges.append(Edge(f"x{s}", f"e{s}"))
        if s:
            edges.append(Edge(f"e{s - 1}", f"e{s}"))
    ox = S * pitch + 1.4
    for k in range(T):
        nodes += [
            Node(f"d{k}", ox + k * pitch, 0, "LSTM", log_norm(rec.grad_of(hs[k])), w=1.25),
            Node(f"y{k}", ox + k * pitch, -1.15, _show(a[k]), None, "leaf", w=0.55),
            Node(f"o{k}", ox + k * pitch, 1.25, _show(a[k + 1]), None, "leaf", w=0.55),
        ]
        edges += [Edge(f"y{k}", f"d{k}"), Edge(f"d{k}", f"o{k}")]
        if k:
            edges.append(Edge(f"d{k - 1}", f"d{k}"))
    edges.append(Edge(f"e{S - 1}", "d0", r"$h_T$"))
    frames = [
        Frame(-0.9, -1.65, (S - 1) * pitch + 0.9, 0.75, word("encoder", lang), "top"),
        Frame(ox - 0.9, -1.65, ox + (T - 1) * pitch + 0.9, 1.75, word("decoder", lang), "top"),
    ]
    vals = [n.value for n in nodes if n.value is not None]
    paths, files = both(out, "fig_seq2seq_graph")
    diagram.draw(
        nodes, edges, paths, scale=colors.nice_scale(vals), frames=frames, title=word("seq2seq.graph.title", lang),
        colorbar_label=word("grad.bar", lang), unit=0.5, fontsize=12, colorbar="bottom",
    )  # fmt: skip
    return files


def attention_parts(model, src, tgt_in):
    """AttentionSeq2Seq.forward written out (the same numbers), keeping each layer's output for the picture.

    Returns {"enc_hs" (N,S,H), "embedded" (N,T,D), "dec_hs" (N,T,H), "context" (N,T,H), "logits" (N,T,V)}.
    """
    enc_hs, state = model.encoder(model.src_embed(src))
    h = state[0] if isinstance(state, tuple) else state
    embedded = model.tgt_embed(tgt_in)
    dec_hs, _ = model.decoder(embedded, h)
    context, _ = model.attention(dec_hs, enc_hs, enc_hs)
    logits = model.out(concat([context, dec_hs], axis=2))
    return {"enc_hs": enc_hs, "embedded": embedded, "dec_hs": dec_hs, "context": context, "logits": logits}


def fig_8_18(out, lang="en", quick=False, T=4):
    """Figure 8-18: the decoder with attention as the book lays it out, T steps of a real AttentionSeq2Seq."""
    from viz import colors, diagram
    from viz.diagram import Edge, Frame, Node

    from .lecture_words import word

    d = data.TASKS["dates"](n_train=8, n_test=1, seed=0)
    seed(0)
    model = nn.AttentionSeq2Seq(len(d.vocab), 8, 8, score="dot", max_len=d.x_train.shape[1])
    x, t = d.x_train[:1], d.t_train[:1]
    parts = attention_parts(model, x, t[:, :T])
    loss = F.cross_entropy(parts["logits"], t[:, 1 : T + 1])
    with record_backward() as rec:
        loss.backward()

    def per_step(name):
        g = rec.grad_of(parts[name])
        return [log_norm(g[:, k]) for k in range(T)]

    emb, lstm, ctx, aff = (per_step(k) for k in ("embedded", "dec_hs", "context", "logits"))
    enc = log_norm(rec.grad_of(parts["enc_hs"]))
    pitch, nodes, edges = 3.0, [], []
    Y = {"in": 0.0, "emb": 1.0, "lstm": 2.0, "att": 3.2, "aff": 4.45, "sm": 5.55}
    bus_y, hs_colour = 3.85, "#2a788e"
    nodes += [
        Node("enc", -3.0, Y["lstm"], word("encoder", lang), enc, "block", w=1.8, h=0.8),
        Node("q", -3.0, Y["in"], repr(d.vocab.decode(x[0]).rstrip()), None, "plain", fontsize=11),
        Node("hs", -3.35, 3.3, r"$hs$", None, "plain"),
        Node("loss", (T - 1) * pitch / 2, Y["sm"] + 1.15, "L", None, "plain"),
    ]
    edges += [Edge("q", "enc"), Edge("enc", "lstm0", label=r"$h$", label_at="below")]
    a = d.vocab.decode(t[0])
    lane = (-0.3, 0.21), (-0.3, -0.21)  # the query and the context go up the left lane; h_t bypasses on the right
    for k in range(T):
        cx = k * pitch
        nodes += [
            Node(f"in{k}", cx, Y["in"], repr(a[k]), None, "plain", fontsize=11),
            Node(f"emb{k}", cx, Y["emb"], "Embedding", emb[k], w=2.2),
            Node(f"lstm{k}", cx, Y["lstm"], "LSTM", lstm[k], w=2.0),
            Node(f"att{k}", cx, Y["att"], "Attention", ctx[k], w=1.6),
            Node(f"aff{k}", cx, Y["aff"], "Affine", aff[k], w=2.0),
            Node(f"sm{k}", cx, Y["sm"], "Softmax\nwith Loss", None, w=2.0, h=0.72),
        ]
        edges += [
            Edge(f"in{k}", f"emb{k}"),
            Edge(f"emb{k}", f"lstm{k}"),
            Edge(f"lstm{k}", f"att{k}", src_xy=lane[0], dst_xy=lane[1]),
            Edge(f"att{k}", f"aff{k}", src_xy=lane[0], dst_xy=lane[1]),
            Edge(f"lstm{k}", f"aff{k}", src_xy=(0.8, 0.21), dst_xy=(0.8, -0.21)),
            Edge(f"aff{k}", f"sm{k}"),
            Edge(f"sm{k}", "loss", style=":"),
            Edge("enc", f"att{k}", via=[(-3.0, bus_y), (cx - 1.15, bus_y), (cx - 1.15, Y["att"])], dst_side="l",
                 color=hs_colour),
        ]  # fmt: skip
        if k:
            edges.append(Edge(f"lstm{k - 1}", f"lstm{k}"))
    frames = [Frame(-1.35, 0.55, (T - 1) * pitch + 1.35, 6.05, word("decoder", lang), "top")]
    vals = [n.value for n in nodes if n.value is not None]
    paths, files = both(out, "fig8_18_attention_decoder")
    diagram.draw(
        nodes, edges, paths, scale=colors.nice_scale(vals), frames=frames, title=word("8-18.title", lang, T=T),
        colorbar_label=word("grad.bar", lang), unit=0.5, fontsize=12, colorbar="right",
    )  # fmt: skip
    same = np.allclose(parts["logits"].data, model(x, t[:, :T]).data, atol=1e-6)
    return {
        "files": files,
        "T": T,
        "loss": float(loss.item()),
        "question": d.vocab.decode(x[0]).rstrip(),
        "same_as_forward": bool(same),
        "grad_lstm": [float(10**v) for v in lstm],
        "grad_attention": [float(10**v) for v in ctx],
    }
