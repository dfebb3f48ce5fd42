"""Long-range recall: how far back can each model carry a name?

The seed's example: "Tom was watching TV in his room. Mary came into the room. Mary said hi to ?"
The answer is a name seen many tokens earlier. Here a question is `N w w ... w ?`: a name N (one of
8 upper-case letters), D - 1 distractor words (lower-case letters), then `?`; the answer is N.

For each distance D we train four models of the same width with the same budget:
a plain tanh RNN encoder-decoder, an LSTM encoder-decoder, an LSTM encoder-decoder with dot
attention, and a small Transformer (word vectors N(0, 1), LSTM forget-gate bias 1, Adam, clip 5,
the same epochs for all), each with --seeds different seeds and data sets. We record the mean
test accuracy (chance is 1/8) and, at initialisation, the norm of the loss gradient that reaches
the embedded name, ||dL/dx_1|| (geometric mean over seeds): the signal training learns from.
The plain RNN's gradient vanishes geometrically with D, and it is the first to fall to chance.

    python examples/long_range_recall.py            # a few minutes on 2 cores
    python examples/long_range_recall.py --quick    # a smoke run in seconds

Writes recall.png and recall.json into --out (default out/recall).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

import tinygrad_attn as ta
from tinygrad_attn import data, nn, optim
from tinygrad_attn import functional as F
from tinygrad_attn.commands.train import limit_blas_threads

TINY = 1e-38  # about the smallest normal float32: gradients below it have underflowed to 0


def make_model(kind, vocab_size, hidden, max_len):
    """The four contenders, all of width `hidden`, with unit-scale word vectors."""
    model = _make(kind, vocab_size, hidden, max_len)
    for emb in (model.src_embed, model.tgt_embed):  # N(0, 1) as PyTorch's nn.Embedding (the book uses 0.01)
        emb.W.data[...] = ta.randn(*emb.W.shape, dtype=emb.W.dtype).data
    return model


def _make(kind, vocab_size, hidden, max_len):
    if kind == "RNN":
        return nn.Seq2Seq(vocab_size, hidden, hidden, cell="rnn")
    if kind == "LSTM":
        return _open_forget_gates(nn.Seq2Seq(vocab_size, hidden, hidden, cell="lstm"))
    if kind == "attention":
        return _open_forget_gates(nn.AttentionSeq2Seq(vocab_size, hidden, hidden, cell="lstm", score="dot"))
    if kind == "Transformer":
        return nn.Transformer(vocab_size, d_model=hidden, n_heads=2, n_layers=1, max_len=max_len)
    raise ValueError(kind)


def _open_forget_gates(model):
    """Forget-gate bias 1 (Gers et al. 2000; Jozefowicz et al. 2015; Keras' default): c_t keeps ~73 % per step."""
    for lstm in (model.encoder, model.decoder):
        lstm.b.data[nn.LSTM.gate_columns("f", lstm.hidden_size)] = 1.0
    return model


def grad_at_name(model, x, t):
    """Mean over the batch of ||dL/dx_1||, the loss gradient at the embedded name (step t=1, index 0)."""
    loss = F.cross_entropy(model(x, t[:, :-1]), t[:, 1:])
    emb = model.src_embedded
    emb.retain_grad()
    loss.backward()
    g = emb.grad.data[:, 0]  # (N, D): position 0 holds the name
    model.zero_grad()
    return float(np.linalg.norm(g, axis=1).mean())


def train_one(kind, task, args, seed):
    ta.seed(seed)
    model = make_model(kind, len(task.vocab), args.hidden, task.x_train.shape[1])
    xg, tg = task.x_train[:256], task.t_train[:256]
    g0 = grad_at_name(model, xg, tg)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    rng = np.random.default_rng(seed)
    start = task.vocab.start_id
    for _ in range(args.epochs):
        for xb, tb in data.batches(task.x_train, task.t_train, args.batch_size, rng=rng):
            loss = F.cross_entropy(model(xb, tb[:, :-1]), tb[:, 1:])
            opt.zero_grad()
            loss.backward()
            optim.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
    model.eval()
    ids = model.generate(task.x_test, start, 1)
    acc = float((ids[:, 0] == task.t_test[:, 1]).mean())
    return acc, g0


def plot(results, distances, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for kind, rows in results.items():
        d = [r["distance"] for r in rows]
        ax1.plot(d, [100 * r["accuracy"] for r in rows], "o-", label=kind)
        ax2.semilogy(d, [r["grad_at_name"] for r in rows], "o-", label=kind)
    ax1.axhline(100 / 8, color="gray", ls=":", lw=1)
    ax1.text(distances[0], 100 / 8 + 2, "chance (1 of 8 names)", color="gray", fontsize=8)
    ax1.set(xlabel="distance D (tokens between the name and '?')", ylabel="test accuracy (%)", ylim=(0, 105))
    ax1.set_title("Recall accuracy after equal training (mean of seeds)")
    ax2.axhline(TINY, color="gray", ls=":", lw=1)
    ax2.text(distances[0], TINY * 10, "float32 underflow", color="gray", fontsize=8)
    ax2.set(xlabel="distance D", ylabel="||dL/dx_name|| at initialisation")
    ax2.set_title("Gradient reaching the name's position")
    for ax in (ax1, ax2):
        ax.set_xscale("log", base=2)
        ax.set_xticks(distances, [str(d) for d in distances])
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    p.add_argument("--distances", type=int, nargs="+", default=[4, 8, 16, 32, 64, 128])
    p.add_argument("--models", nargs="+", default=["RNN", "LSTM", "attention", "Transformer"])
    p.add_argument("--train-size", type=int, default=2000)
    p.add_argument("--test-size", type=int, default=400)
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--batch-size", type=int, default=50)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--seeds", type=int, default=3, help="runs per model and distance (results are averaged)")
    p.add_argument("--out", default=os.path.join("out", "recall"))
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run in seconds")
    args = p.parse_args(argv)
    if args.quick:
        args.distances, args.train_size, args.test_size, args.epochs, args.seeds = [4, 8], 200, 50, 1, 1
    os.makedirs(args.out, exist_ok=True)
    if not os.environ.get("OPENBLAS_NUM_THREADS"):
        limit_blas_threads(1)  # small matrices: extra BLAS threads only wait
    kinds = [k for k in args.models if k != "Transformer" or hasattr(nn, "Transformer")]
    if len(kinds) < len(args.models):
        print("nn.Transformer is not available: skipped")
    results = {k: [] for k in kinds}
    t_all = time.perf_counter()
    print(f"{'D':>4} " + "".join(f"{k:>22}" for k in kinds) + "   (accuracy, ||dL/dx_name|| at init)")
    for D in args.distances:
        tasks = [data.recall(D, args.train_size, args.test_size, seed=1000 * s + D) for s in range(args.seeds)]
        cells = []
        for kind in kinds:
            t0 = time.perf_counter()
            runs = np.array([train_one(kind, task, args, s) for s, task in enumerate(tasks)])  # (seeds, 2)
            norms = np.maximum(runs[:, 1], TINY)  # a gradient that underflowed float32 counts as TINY
            acc, g0 = float(runs[:, 0].mean()), float(np.exp(np.log(norms).mean()))  # geometric mean
            results[kind].append(
                {
                    "distance": D,
                    "accuracy": acc,
                    "accuracy_per_seed": runs[:, 0].tolist(),
                    "grad_at_name": g0,
                    "seconds": round(time.perf_counter() - t0, 2),
                }
            )
            cells.append(f"{100 * acc:6.1f}%  {g0:9.2e}")
        print(f"{D:4d} " + "".join(f"{c:>22}" for c in cells), flush=True)
    with open(os.path.join(args.out, "recall.json"), "w") as f:
        json.dump({"config": vars(args), "results": results}, f, indent=1)
    path = os.path.join(args.out, "recall.png")
    plot(results, args.distances, path)
    print(f"wrote {path} and recall.json ({time.perf_counter() - t_all:.0f} s)")


if __name__ == "__main__":
    main()
