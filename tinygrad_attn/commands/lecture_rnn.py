"""The computations behind figures 6-4 (the "Tom" sentence), 6-7 (MatMul only) and tanh' <= 1.

Each gradient comes from one backward pass of the engine; the norms of 6-7 are read from its
backward record (ta.record_backward).
"""

from __future__ import annotations

import numpy as np

from .. import Tensor, concat, data, nn, record_backward, scope, seed
from .. import functional as F
from . import analysis

TOM = "Tom was watching TV in his room . Mary came into the room . Mary said hi to"
RADIUS_64 = 0.5  # spectral radius of W_h for the vanishing tanh RNN of figure 6-4
FORGET_BIAS = 1.0  # the LSTM of figure 6-4: forget-gate bias 1 (Gers et al. 2000; Jozefowicz et al. 2015)
RADII_67 = (0.8, 1.0, 1.25)
T_67 = 30  # steps of the gain and product panels
T_LONG = 600  # steps of the float32 run that overflows (rho > 1) or underflows (rho < 1)
H_67 = 8
FLOAT32_FLOOR = 1e-44  # a norm this small is made of float32's smallest (subnormal) numbers, 1.4e-45 each


def tom_sentence():
    """The words of the lecture's sentence, a word vocabulary over them, and the answer's id."""
    vocab = data.Vocab(level="word").add(TOM).add("?")
    return TOM.split(), vocab, int(vocab.encode("Tom")[0])


def tom_grads(kind, vocab, ids, target, D=16, H=16, radius=RADIUS_64, forget_bias=FORGET_BIAS):
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
        cell.b.data[nn.LSTM.gate_columns("f", H)] = forget_bias
    else:
        cell = nn.RNN.from_weights(W_x.astype(np.float32), W_h.astype(np.float32), np.zeros(H, np.float32), True)
    head = nn.Linear(2 * H if kind == "attention" else H, len(vocab))
    x = emb(ids[None])  # (1, T, D)
    x.retain_grad()
    hs, state = cell(x)
    h_T = state[0] if isinstance(state, tuple) else state
    if kind == "attention":
        att = nn.Attention("dot")
        context, _ = att(h_T, hs, hs)  # the last state asks every state
        h_T = concat([context, h_T], axis=1)
    loss = F.cross_entropy(head(h_T), np.array([target]))
    loss.backward()
    return np.linalg.norm(x.grad.data[0], axis=-1)  # (T,)


def default_radius(H=16):
    """The spectral radius of the default-initialised W_h of `tom_grads` (the same draws)."""
    rng = np.random.default_rng(1)
    rng.standard_normal((H, H))  # W_x is drawn first in tom_grads
    return float(np.max(np.abs(np.linalg.eigvals(rng.standard_normal((H, H)) / np.sqrt(H)))))


def fig_6_4(out, lang="en", quick=False):
    """Figure 6-4: the gradient of the loss for 'Tom' that reaches each word, as lines and as the sentence."""
    from viz import plots

    from .lecture_common import both
    from .lecture_words import word

    words, vocab, tom = tom_sentence()
    ids = vocab.encode(TOM)
    rho0 = default_radius()
    norms = {
        "rnn": tom_grads("rnn", vocab, ids, tom),
        "rnn_default": tom_grads("rnn", vocab, ids, tom, radius=None),
        "lstm": tom_grads("lstm", vocab, ids, tom),
        "attention": tom_grads("attention", vocab, ids, tom),
    }
    label = {
        "rnn": word("6-4.rnn", lang, radius=RADIUS_64),
        "rnn_default": word("6-4.rnn_default", lang, radius=rho0),
        "lstm": word("6-4.lstm", lang, bias=FORGET_BIAS),
        "attention": word("6-4.attention", lang, radius=RADIUS_64),
    }
    runs = {label[k]: v for k, v in norms.items()}
    lines, line_files = both(out, "fig6_4_tom_gradient")
    plots.gradient_by_token(
        runs, words, lines, title=word("6-4.title", lang), ylabel=word("6-4.y", lang), xlabel=word("6-4.x", lang)
    )
    sentence, sentence_files = both(out, "fig6_4_tom_sentence")
    plots.tokens_by_gradient(
        runs, words, sentence, title=word("6-4.sentence.title", lang), bar_label=word("grad.bar.word", lang)
    )
    lstm0 = tom_grads("lstm", vocab, ids, tom, forget_bias=0.0)
    ratio = {k: float(v[0] / v[-1]) for k, v in norms.items()}
    ratio["lstm_bias0"] = float(lstm0[0] / lstm0[-1])
    return {
        "files": line_files + sentence_files,
        "words": words,
        "vocab_size": len(vocab),
        "norms": {k: [float(a) for a in v] for k, v in norms.items()},
        "tom_over_to": ratio,
        "radius": RADIUS_64,
        "default_radius": rho0,
        "forget_bias": FORGET_BIAS,
    }


def gaussian_w(radius, H=H_67, seed_=0):
    """A random Gaussian H x H matrix scaled to spectral radius `radius` (its singular values spread)."""
    rng = np.random.default_rng(seed_)
    return analysis.scaled_to_radius(rng.standard_normal((H, H)), radius), rng


def matmul_chain(radius, T=T_67, H=H_67, seed_=0, dtype=np.float64):
    """Backprop through h_t = h_(t-1) W_h only, W_h Gaussian scaled to spectral radius `radius`.

    Returns (norms (T+1,), record, h_0): norms[k] = ||dL/dh_(T-k)|| read from the engine's backward record
    (in float64 whatever `dtype` the chain runs in, so inf and NaN mean the gradient itself overflowed).
    """
    W_np, rng = gaussian_w(radius, H, seed_)
    W = Tensor(W_np.astype(dtype), name="W_h")
    h0 = Tensor(rng.standard_normal((1, H)).astype(dtype), requires_grad=True, name="h_0")
    g = rng.standard_normal((1, H))
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        h = h0
        for t in range(1, T + 1):
            with scope(f"t={t}"):
                h = h @ W
            h.name = f"h_{t}"
        loss = (h * Tensor((g / np.linalg.norm(g)).astype(dtype), name="dL/dh_T")).sum()
        loss.name = "L"
        with record_backward() as rec:
            loss.backward()
    mm = [s for s in rec.steps if s.op == "MatMul"]  # processed t = T, T-1, ..., 1
    grads = [s.grad for s in mm] + [mm[-1].contributions[0]]
    return np.array([_norm(a) for a in grads]), rec, h0


def _norm(a):
    """||a|| in float64; inf if an element is inf, NaN if one is NaN."""
    a = np.asarray(a, dtype=np.float64)
    if np.isnan(a).any():
        return float("nan")
    if np.isinf(a).any():
        return float("inf")
    return float(np.linalg.norm(a))


def fig_6_7(out, lang="en", quick=False):
    """Figure 6-7: the gradient passed back through MatMul nodes only, for radius below, at and above 1."""
    from viz import plots

    from .lecture_common import both
    from .lecture_words import word

    runs = {r: matmul_chain(r)[0] for r in RADII_67}
    label = {r: word("6-7.run", lang, radius=r) for r in RADII_67}
    gain_paths, gain_files = both(out, "fig6_7_matmul_gain")
    plots.gain_and_product(
        {label[r]: n for r, n in runs.items()}, gain_paths, title=word("6-7.title", lang, T=T_67),
        radii={label[r]: r for r in RADII_67}, xlabel=word("6-7.x", lang), gain_label=word("6-7.gain.y", lang),
        product_label=word("6-7.product.y", lang), gain_title=word("6-7.gain.title", lang),
        product_title=word("6-7.product.title", lang), guide_label=word("6-7.guide", lang),
    )  # fmt: skip
    long = {r: matmul_chain(r, T=T_LONG, dtype=np.float32)[0] for r in RADII_67}
    long_paths, long_files = both(out, "fig6_7_overflow")
    plots.overflow(
        {label[r]: n for r, n in long.items()}, long_paths, title=word("6-7.long.title", lang, T=T_LONG),
        xlabel=word("6-7.x", lang), ylabel=word("6-7.long.y", lang), inf_label=word("6-7.inf", lang, k="{k}"),
        nan_label=word("6-7.nan", lang, k="{k}"), zero_label=word("6-7.zero", lang, k="{k}"),
        floor=FLOAT32_FLOOR, floor_label=word("6-7.floor", lang, k="{k}"),
    )  # fmt: skip
    graph_files, graph_gains = _chain_graph(out, lang)
    gains = {r: n[1:] / n[:-1] for r, n in runs.items()}
    bad = {str(r): dict(zip(("inf", "nan", "zero"), plots.first_bad(n))) for r, n in long.items()}
    for r, n in long.items():
        low = np.flatnonzero(np.isfinite(n) & (n > 0) & (n <= FLOAT32_FLOOR))
        bad[str(r)]["floor"] = int(low[0]) if low.size else None
    return {
        "files": gain_files + long_files + graph_files,
        "T": T_67,
        "T_long": T_LONG,
        "gain_mean": {str(r): float(np.exp(np.mean(np.log(v)))) for r, v in gains.items()},
        "gain_min": {str(r): float(v.min()) for r, v in gains.items()},
        "gain_max": {str(r): float(v.max()) for r, v in gains.items()},
        "product": {str(r): float(n[-1] / n[0]) for r, n in runs.items()},
        "long": bad,
        "graph_gains": graph_gains,
    }


def _chain_graph(out, lang, radius=RADII_67[-1], T=4):
    """Four MatMul-only steps drawn as the book draws them, each node's gain under it; (files, gains h_1..h_T)."""
    from viz import diagram
    from viz.diagram import Edge, Node

    from .lecture_common import both, log_norm
    from .lecture_words import word

    norms, rec, h0 = matmul_chain(radius, T=T)
    by_name = {s.tensor.name: s for s in rec.steps}
    vals = {f"h_{t}": log_norm(by_name[f"h_{t}"].grad) for t in range(1, T + 1)}
    vals["h_0"] = log_norm(rec.grad_of(h0))
    gains = norms[1:] / norms[:-1]  # gains[k-1]: the step from h_(T-k+1) back to h_(T-k)
    nodes = [Node("h0", 0, 0, r"$h_0$", vals["h_0"], "leaf")]
    edges = []
    for t in range(1, T + 1):
        x = 2.2 * t
        nodes += [Node(f"W{t}", x, 1.1, r"$W_h$", None, "leaf"), Node(f"m{t}", x, 0, "MatMul", vals[f"h_{t}"], w=1.45)]
        edges.append(Edge(f"W{t}", f"m{t}"))
        src = "h0" if t == 1 else f"m{t - 1}"
        edges.append(Edge(src, f"m{t}", None if t == 1 else rf"$h_{{{t - 1}}}$"))
    nodes.append(Node("L", 2.2 * T + 2.0, 0, "L", None, "plain"))
    edges.append(Edge(f"m{T}", "L", rf"$h_{{{T}}}$"))
    for t in range(1, T + 1):  # the gain of the step back through MatMul t, under its node
        nodes.append(Node(f"g{t}", 2.2 * t, -0.62, f"×{gains[T - t]:.2f}", None, "plain", fontsize=11))
    scale = _scale(vals.values())
    paths, files = both(out, "fig6_7_matmul_graph")
    title = [word("6-7.graph.title", lang, radius=radius, T=T), word("6-7.graph.gains", lang)]
    diagram.draw(
        nodes, edges, paths, scale=scale, title=title,
        colorbar_label=word("grad.bar", lang), unit=0.55, fontsize=12, colorbar="bottom",
    )  # fmt: skip
    return files, [float(gains[T - t]) for t in range(1, T + 1)]


def _scale(values):
    from viz import colors

    return colors.nice_scale([v for v in values if v is not None])


def fig_tanh(out, lang="en", quick=False):
    """tanh and its derivative, the derivative from the engine's backward: tanh'(x) = 1 - tanh(x)^2 <= 1."""
    from viz import plots

    from .lecture_common import both
    from .lecture_words import word

    x = Tensor(np.linspace(-4, 4, 401), requires_grad=True, name="x")
    y = x.tanh()
    y.sum().backward()
    dy = x.grad.data
    paths, files = both(out, "fig_tanh_derivative")
    plots.function_and_derivative(
        x.data, y.data, dy, paths, names=(word("tanh.y", lang), word("tanh.dy", lang)), title=word("tanh.title", lang)
    )
    at = {str(v): float(1 - np.tanh(v) ** 2) for v in (0.0, 1.0, 2.0)}
    return {"files": files, "max_derivative": float(dy.max()), "at": at}
