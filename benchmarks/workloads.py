"""The bench's workloads on tinygrad_attn: one training step each (forward, loss, backward, update).

Five graphs with fixed sizes, the ones the outside reference bench times in every framework, and
the book's two tasks as `tinygrad-attn train` runs them:

| name | one step |
|---|---|
| scalar_chain | y = tanh(w y + b) a thousand times from y = 0.5 on 0-d float64; loss = y; SGD 0.1 |
| rnn_tiny | embedding -> tanh RNN -> affine -> mean cross-entropy; N=1 T=32 D=8 H=8 V=16; SGD 0.1 |
| rnn_mid | the same with N=32 T=32 D=64 H=128 V=64 |
| seq2seq | LSTM encoder (S=29) and decoder (T=11, starting from the encoder's last h) with dot attention
  over the encoder's states, logits = [context, h] Wo + bo, mean cross-entropy; N=128 V=59 D=16
  H=256; gates in column blocks f, i, o, g; SGD 0.1 |
| transformer_layer | one post-LN encoder layer (fused QKV, 4 heads, d=64, ReLU FFN 256, eps 1e-5);
  loss = mean((out - Y)^2); N=32 T=32; SGD 0.1 |
| book_addition | the book's peeky Seq2Seq (D=16 H=128) on a batch of 128 reversed questions of its
  addition data: cross-entropy, clip the gradient norm at 5, Adam 1e-3, fused LSTM cells |
| book_date | the book's attention Seq2Seq (dot score, D=16 H=256) on a batch of 128 of its dates |

The five are written op by op (a Python loop over time, the engine's own primitives, the row-vector
convention h_t = tanh(h_{t-1} Wh + x_t Wx + b), batch-first int64 ids), so a step costs what the
engine costs per node. Their inputs come from `inputs(name)`: numpy arrays drawn from fixed seeds,
float32 (float64 for scalar_chain), weight names as in the reference bench, so its hand-written
numpy can start from the same weights. The book's tasks read the book's data (`book_batch`).

    step = build("rnn_mid")   # step() runs one training step and returns the loss before the update
    step.weights()            # {name: ndarray}: the current weights
"""

from __future__ import annotations

import math
import os

import numpy as np

import tinygrad_attn as ta
from tinygrad_attn import functional as F

F32 = np.float32

# name -> sizes; `lr` is the SGD step, `seed` draws the data and the weights
SIZES = {
    "scalar_chain": dict(n_steps=1000, x=0.5, w=0.9, b=0.1, lr=0.1),
    "rnn_tiny": dict(N=1, T=32, D=8, H=8, V=16, lr=0.1, seed=11),
    "rnn_mid": dict(N=32, T=32, D=64, H=128, V=64, lr=0.1, seed=12),
    "seq2seq": dict(N=128, S=29, T=11, V=59, D=16, H=256, lr=0.1, seed=13),
    "transformer_layer": dict(N=32, T=32, d=64, heads=4, d_ff=256, eps=1e-5, lr=0.1, seed=14),
    "book_addition": dict(task="addition", N=128, D=16, H=128, lr=1e-3, max_norm=5.0, seed=0),
    "book_date": dict(task="date", N=128, D=16, H=256, lr=1e-3, max_norm=5.0, seed=0),
}
SYNTHETIC = ("scalar_chain", "rnn_tiny", "rnn_mid", "seq2seq", "transformer_layer")
BOOK = ("book_addition", "book_date")
NAMES = SYNTHETIC + BOOK


# ---- inputs: numpy data and initial weights -----------------------------------------------------
def _weights(rng, shapes):
    """{name: (shape, scale)} -> {name: float32 normal(0, scale) array}, drawn in the given order."""
    return {k: (rng.standard_normal(shape) * scale).astype(F32) for k, (shape, scale) in shapes.items()}


def _lstm_shapes(prefix, V, D, H):
    return {
        f"{prefix}_E": ((V, D), 0.5),
        f"{prefix}_Wx": ((D, 4 * H), D**-0.5),
        f"{prefix}_Wh": ((H, 4 * H), H**-0.5),
        f"{prefix}_b": ((4 * H,), 0.1),
    }


def sizes(name, **changes):
    """The sizes of workload `name`, with `changes` (smaller ones for a quick test, say)."""
    if name not in SIZES:
        raise KeyError(f"workloads: no workload {name!r}; they are {', '.join(NAMES)}")
    unknown = set(changes) - set(SIZES[name])
    if unknown:
        raise KeyError(f"workloads: {name} has no size {', '.join(sorted(unknown))}")
    return {**SIZES[name], **changes}


def inputs(name, **changes):
    """(data, weights) of a synthetic workload: two dicts of fresh numpy arrays, the same on every call."""
    p = sizes(name, **changes)
    if name == "scalar_chain":
        return {}, {"w": np.array(p["w"]), "b": np.array(p["b"])}
    rng = np.random.default_rng(p["seed"])
    if name.startswith("rnn"):
        N, T, D, H, V = (p[k] for k in "NTDHV")
        data = {"xs": rng.integers(0, V, (N, T)), "ts": rng.integers(0, V, (N, T))}
        shapes = {
            "E": ((V, D), 0.5),
            "Wx": ((D, H), D**-0.5),
            "Wh": ((H, H), H**-0.5),
            "b": ((H,), 0.1),
            "Wo": ((H, V), H**-0.5),
            "bo": ((V,), 0.1),
        }
        return data, _weights(rng, shapes)
    if name == "seq2seq":
        N, S, T, V, D, H = (p[k] for k in "NSTVDH")
        target = rng.integers(0, V, (N, T + 1))
        data = {"src": rng.integers(0, V, (N, S)), "dec_in": target[:, :-1].copy(), "dec_tgt": target[:, 1:].copy()}
        shapes = {**_lstm_shapes("enc", V, D, H), **_lstm_shapes("dec", V, D, H)}
        shapes.update(Wo=((2 * H, V), (2 * H) ** -0.5), bo=((V,), 0.1))
        return data, _weights(rng, shapes)
    if name == "transformer_layer":
        N, T, d, f = p["N"], p["T"], p["d"], p["d_ff"]
        data = {"X": rng.standard_normal((N, T, d)).astype(F32), "Y": rng.standard_normal((N, T, d)).astype(F32)}
        shapes = {"Wqkv": ((d, 3 * d), d**-0.5), "bqkv": ((3 * d,), 0.1), "Wo": ((d, d), d**-0.5), "bo": ((d,), 0.1)}
        shapes.update(W1=((d, f), d**-0.5), b1=((f,), 0.1), W2=((f, d), f**-0.5), b2=((d,), 0.1))
        shapes.update(g1=((d,), 0.1), be1=((d,), 0.1), g2=((d,), 0.1), be2=((d,), 0.1))
        w = _weights(rng, shapes)
        w["g1"] += 1  # layer-norm gains near one
        w["g2"] += 1
        return data, w
    raise KeyError(f"workloads: no synthetic workload {name!r}; they are {', '.join(SYNTHETIC)}")


def book_batch(name, data_dir=None):
    """{"x": (N, S), "t": (N, T+1), "vocab_size": ()} int arrays: the first N training pairs of the
    book's data (its split), questions reversed. Read as `book:<task>` from the package, else from
    `<task>.txt` in `data_dir` or $TINYGRAD_ATTN_DATA."""
    task, n = SIZES[name]["task"], SIZES[name]["N"]
    folder = data_dir or os.environ.get("TINYGRAD_ATTN_DATA")
    if folder:
        d = ta.data.load_pairs(os.path.join(folder, f"{task}.txt"))
    else:
        try:
            d = ta.data.load_pairs(f"book:{task}")
        except (OSError, ValueError, KeyError) as e:
            raise FileNotFoundError(
                f"workloads: {name} needs the book's {task} data: this tinygrad_attn has no 'book:{task}' ({e}); "
                "give --data-dir or TINYGRAD_ATTN_DATA, a folder holding addition.txt and date.txt"
            ) from None
    d = d.reversed()
    return {"x": d.x_train[:n], "t": d.t_train[:n], "vocab_size": np.array(len(d.vocab))}


# ---- the graphs ---------------------------------------------------------------------------------
def _sgd_step(P, lr, loss_fn):
    """A step function: loss, backward, SGD on every parameter; `.weights()` copies them out."""
    params = list(P.values())
    opt = ta.optim.SGD(params, lr=lr)

    def step():
        loss = loss_fn()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    step.weights = lambda: {k: p.data.copy() for k, p in P.items()}
    return step


def _params(weights):
    return {k: ta.Tensor(v, requires_grad=True, name=k) for k, v in weights.items()}


def scalar_chain(p, data, weights):
    P = _params(weights)
    w, b = P["w"], P["b"]
    x0 = ta.Tensor(np.array(p["x"]))

    def loss():
        y = x0
        for _ in range(p["n_steps"]):
            y = (w * y + b).tanh()
        return y

    return _sgd_step(P, p["lr"], loss)


def rnn(p, data, weights):
    P = _params(weights)
    N, T, H = p["N"], p["T"], p["H"]
    ids = data["xs"].T.copy()  # (T, N): time-major, so step t is one contiguous slice
    targets = data["ts"].T.reshape(-1)

    def loss():
        xw = P["E"][ids] @ P["Wx"] + P["b"]  # every step's input projection at once: (T, N, H)
        h = xw[0].tanh()
        hs = [h]
        for t in range(1, T):
            h = (h @ P["Wh"] + xw[t]).tanh()
            hs.append(h)
        logits = ta.stack(hs).reshape(T * N, H) @ P["Wo"] + P["bo"]
        return F.cross_entropy(logits, targets)

    return _sgd_step(P, p["lr"], loss)


def lstm_states(xw, Wh, h, H):
    """Op-level LSTM over time: xw (T, N, 4H) input projections, h (N, H) or None -> [h_t (N, H)]."""
    c, hs = None, []
    for t in range(xw.shape[0]):
        a = xw[t] if h is None else xw[t] + h @ Wh
        gates = a[:, : 3 * H].sigmoid()  # f | i | o, one contiguous block
        g = a[:, 3 * H :].tanh()
        f, i, o = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H :]
        c = i * g if c is None else f * c + i * g
        h = o * c.tanh()
        hs.append(h)
    return hs


def seq2seq(p, data, weights):
    P = _params(weights)
    N, T, H = p["N"], p["T"], p["H"]
    src, dec_in = data["src"].T.copy(), data["dec_in"].T.copy()
    targets = data["dec_tgt"].reshape(-1)

    def loss():
        enc = lstm_states(P["enc_E"][src] @ P["enc_Wx"] + P["enc_b"], P["enc_Wh"], None, H)
        dec = lstm_states(P["dec_E"][dec_in] @ P["dec_Wx"] + P["dec_b"], P["dec_Wh"], enc[-1], H)
        keys, queries = ta.stack(enc, axis=1), ta.stack(dec, axis=1)  # (N, S, H), (N, T, H)
        weights = (queries @ keys.transpose(0, 2, 1)).softmax(axis=2)  # (N, T, S)
        features = ta.concat([weights @ keys, queries], axis=2).reshape(N * T, 2 * H)
        return F.cross_entropy(features @ P["Wo"] + P["bo"], targets)

    return _sgd_step(P, p["lr"], loss)


def _layer_norm(z, gain, shift, eps):
    centred = z - z.mean(axis=-1, keepdims=True)
    var = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / (var + eps).sqrt() * gain + shift


def transformer_layer(p, data, weights):
    P = _params(weights)
    N, T, d, h, eps = p["N"], p["T"], p["d"], p["heads"], p["eps"]
    dk = d // h
    X, Y = ta.Tensor(data["X"]), ta.Tensor(data["Y"])

    def loss():
        qkv = (X @ P["Wqkv"] + P["bqkv"]).reshape(N, T, 3, h, dk).transpose(2, 0, 3, 1, 4)  # (3, N, h, T, dk)
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = (q @ k.transpose(0, 1, 3, 2) * (1 / math.sqrt(dk))).softmax(axis=-1)
        heads = (att @ v).transpose(0, 2, 1, 3).reshape(N, T, d)
        x1 = _layer_norm(X + heads @ P["Wo"] + P["bo"], P["g1"], P["be1"], eps)
        ffn = (x1 @ P["W1"] + P["b1"]).relu() @ P["W2"] + P["b2"]
        err = _layer_norm(x1 + ffn, P["g2"], P["be2"], eps) - Y
        return (err * err).mean()

    return _sgd_step(P, p["lr"], loss)


def book_model(name, batch, **changes):
    """One Adam step of the book's model on `batch`, as `tinygrad-attn train` takes it (fused cells)."""
    p = sizes(name, **changes)
    V = int(batch["vocab_size"])
    ta.seed(p["seed"])
    if p["task"] == "addition":
        model = ta.nn.Seq2Seq(V, p["D"], p["H"], peeky=True)
    else:
        model = ta.nn.AttentionSeq2Seq(V, p["D"], p["H"], score="dot")
    model.fuse_cells()
    params = model.parameters()
    opt = ta.optim.Adam(params, lr=p["lr"])
    x, t = batch["x"], batch["t"]

    def step():
        loss = F.cross_entropy(model(x, t[:, :-1]), t[:, 1:])
        opt.zero_grad()
        loss.backward()
        ta.optim.clip_grad_norm_(params, p["max_norm"])
        opt.step()
        return loss.item()

    step.weights = lambda: {k: v.data.copy() for k, v in model.named_parameters()}
    return step


GRAPHS = {
    "scalar_chain": scalar_chain,
    "rnn_tiny": rnn,
    "rnn_mid": rnn,
    "seq2seq": seq2seq,
    "transformer_layer": transformer_layer,
}


def build(name, book=None, data_dir=None, **changes):
    """The step function of workload `name`; `book` is a `book_batch` dict to use instead of reading
    one; `changes` replace some of its sizes."""
    p = sizes(name, **changes)
    if name in BOOK:
        return book_model(name, book if book is not None else book_batch(name, data_dir), **changes)
    data, weights = inputs(name, **changes)
    return GRAPHS[name](p, data, weights)
