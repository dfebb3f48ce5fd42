"""A fair study of the ten score functions of Galassi et al., Table 3, on the book's dates.

    python examples/score_study.py --out docs/models/scores             # runs on book:date (hours)
    python examples/score_study.py --out docs/models/scores --report    # table + plots

Every score trains the book's attention model (LSTM encoder/decoder, hidden 256, word vectors 16,
Adam 1e-3, batch 128, clip 5, reversed questions) until it plateaus: at most --epochs epochs,
stopping early once the test accuracy reaches --target (99.9 %) or when the best accuracy has not
risen by --min-gain (0.2 points) in --patience (3) epochs. Runs go seed 0 for every score first,
then further seeds for the scores that learn (best accuracy >= 50 % with seed 0), so an
interrupted study still covers every score. Each run writes `<score>_seed<k>.json` after every
epoch (per-epoch loss, accuracy, seconds; the attention maps of three test dates; how peaked the
attention is) and is skipped when it is already finished, so the study resumes where it stopped.

Each score is as its source defines it: `similarity` is the NTM's cosine times a learned key
strength, no score has a temperature. `--variant activated_general:temperature=0.1` adds a run
with an option (the file name says which); variants are reported in their own rows.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import time

import numpy as np

import tinygrad_attn as ta
from tinygrad_attn import data, nn, optim
from tinygrad_attn import functional as F
from viz.render import write_atomic

LEARNS = 0.5  # seed-0 best accuracy from which a score gets more seeds
MAP_EXAMPLES = 3  # test dates whose attention maps are kept


def parse_variant(text):
    """'score:key=value,key=value' -> (score, {key: value}); values are floats or booleans."""
    score, _, opts = text.partition(":")
    options = {}
    for item in filter(None, opts.split(",")):
        k, _, v = item.partition("=")
        options[k] = {"true": True, "false": False}.get(v.lower(), None)
        if options[k] is None:
            options[k] = float(v)
    return score, options


def run_name(score, options, seed):
    """File stem of one run: 'dot_seed0', 'activated_general_temperature0.1_seed0'."""
    tag = "".join(f"_{k}{v}" for k, v in sorted(options.items()))
    return f"{score}{tag}_seed{seed}"


def build(score, options, vocab_size, src_len, hidden, wordvec):
    """The book's attention model with `score` (and score options such as temperature)."""
    model = nn.AttentionSeq2Seq(vocab_size, wordvec, hidden, score=score, max_len=src_len)
    if options:  # same model, the attention layer rebuilt with the options
        model.attention = nn.Attention(score=score, query_dim=hidden, key_dim=hidden, max_len=src_len, **options)
    return model


def attention_stats(model, x, start_id, length):
    """How peaked the attention is on x (N, S): mean largest weight and mean entropy (nats) per output step."""
    model.generate(x, start_id, length)
    w = model.attention_weights  # (N, T, S)
    ent = -(w * np.log(np.maximum(w, 1e-12))).sum(-1)
    return {"mean_max_weight": float(w.max(-1).mean()), "mean_entropy": float(ent.mean())}


def maps(model, d, n=MAP_EXAMPLES):
    """Attention maps of the first n test dates, columns in reading order (the model reads reversed)."""
    x, t = d.x_test[:n], d.t_test[:n]
    ids = model.generate(x, d.vocab.start_id, t.shape[1] - 1)
    out = []
    for xi, oi, wi in zip(x, ids, model.attention_weights):
        q = d.vocab.decode(xi[::-1])
        k = len(q.rstrip())
        out.append(
            {
                "question": q[:k],
                "answer": d.vocab.decode(oi),
                "weights": np.round(wi[:, ::-1][:, :k], 4).tolist(),  # (T, k)
            }
        )
    return out


def train_one(d, score, options, seed, args, path):
    """Train one (score, seed) until target, plateau or --epochs; rewrite `path` after every epoch."""
    from tinygrad_attn.commands.train import evaluate

    ta.seed(seed)
    S, T = d.x_train.shape[1], d.t_train.shape[1]
    model = build(score, options, len(d.vocab), S, args.hidden, args.wordvec)
    params = model.parameters()
    opt = optim.Adam(params, lr=args.lr)
    rng = np.random.default_rng(seed)
    rec = {
        "score": score,
        "options": options,
        "seed": seed,
        "settings": {
            "hidden": args.hidden,
            "wordvec": args.wordvec,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "max_grad": args.max_grad,
            "reverse": True,
            "parameters": int(sum(p.data.size for p in params)),
            "attention_parameters": int(sum(p.data.size for p in model.attention.parameters())),
        },
        "rule": {"max_epochs": args.epochs, "target": args.target, "patience": args.patience, "gain": args.min_gain},
        "epochs": [],
        "finished": False,
    }
    start = d.vocab.start_id
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        total = count = 0
        for xb, tb in data.batches(d.x_train, d.t_train, args.batch_size, rng=rng, drop_last=True):
            loss = F.cross_entropy(model(xb, tb[:, :-1]), tb[:, 1:])
            opt.zero_grad()
            loss.backward()
            optim.clip_grad_norm_(params, args.max_grad)
            opt.step()
            total += loss.item() * len(xb)
            count += len(xb)
        seconds = time.perf_counter() - t0
        acc = evaluate(model, d.x_test, d.t_test, start)
        model.eval()
        stats = attention_stats(model, d.x_test[:500], start, T - 1)
        rec["maps"] = maps(model, d)
        model.train()
        rec["epochs"].append(
            {"epoch": epoch, "train_loss": total / count, "test_accuracy": acc, "seconds": round(seconds, 2), **stats}
        )
        accs = [e["test_accuracy"] for e in rec["epochs"]]
        stop = None
        if acc >= args.target:
            stop = "target"
        elif epoch > args.patience and max(accs) - max(accs[: -args.patience]) < args.min_gain:
            stop = "plateau"
        elif epoch == args.epochs:
            stop = "max_epochs"
        rec.update(summary(rec["epochs"]))
        rec["stopped"] = stop
        rec["finished"] = stop is not None
        write_json(path, rec)
        print(f"{os.path.basename(path)}: epoch {epoch} acc {100 * acc:.2f}% {seconds:.0f} s", flush=True)
        if stop:
            return rec
    return rec


def summary(epochs):
    """Best and last accuracy, epochs to 99 %, mean seconds per epoch of a run's epoch list."""
    accs = [e["test_accuracy"] for e in epochs]
    to99 = next((e["epoch"] for e in epochs if e["test_accuracy"] >= 0.99), None)
    return {
        "best_accuracy": max(accs),
        "last_accuracy": accs[-1],
        "epochs_to_99": to99,
        "seconds_per_epoch": float(np.mean([e["seconds"] for e in epochs])),
    }


def write_json(path, obj):
    """Write atomically, so a killed study never leaves half a file."""
    write_atomic(path, json.dumps(obj, indent=1).encode())


def load_runs(out):
    """Every run JSON in `out`: list of dicts."""
    runs = []
    for p in sorted(glob.glob(os.path.join(out, "*_seed*.json"))):
        with open(p) as f:
            runs.append(json.load(f))
    return runs


def label(run):
    """Row name of a run: the score, plus its options."""
    opts = ", ".join(f"{k}={v}" for k, v in sorted(run.get("options", {}).items()))
    return run["score"] + (f" ({opts})" if opts else "")


def table(runs):
    """The README's markdown table: one row per score (and variant), seeds pooled."""
    rows = {}
    for r in runs:
        rows.setdefault(label(r), []).append(r)
    order = list(nn.SCORES)
    keys = sorted(rows, key=lambda k: (order.index(k.split(" ")[0]) if k.split(" ")[0] in order else 99, k))

    def pct(xs):
        xs = [100 * x for x in xs]
        return f"{np.mean(xs):.2f}" + (f" ± {np.std(xs):.2f}" if len(xs) > 1 else "")

    lines = [
        "| score | seeds (finished) | best acc % | last acc % | epochs to 99 % | epochs run | s / epoch | "
        "max weight | stopped |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for k in keys:
        rs = sorted(rows[k], key=lambda r: r["seed"])
        seeds = ", ".join(str(r["seed"]) + ("" if r["finished"] else "*") for r in rs)
        to99 = [r["epochs_to_99"] for r in rs]
        to99s = ", ".join("–" if e is None else str(e) for e in to99)
        runs_ = ", ".join(str(len(r["epochs"])) for r in rs)
        sec = np.mean([r["seconds_per_epoch"] for r in rs])
        mw = np.mean([r["epochs"][-1]["mean_max_weight"] for r in rs])
        stopped = ", ".join(r.get("stopped") or "unfinished" for r in rs)
        lines.append(
            f"| `{k}` | {seeds} | {pct([r['best_accuracy'] for r in rs])} | {pct([r['last_accuracy'] for r in rs])} "
            f"| {to99s} | {runs_} | {sec:.0f} | {mw:.2f} | {stopped} |"
        )
    return "\n".join(lines)


BEGIN, END = "<!-- score table: examples/score_study.py --report -->", "<!-- /score table -->"


def update_readme(path, text):
    """Replace what stands between the BEGIN and END markers of `path` with `text`."""
    with open(path, encoding="utf-8") as f:
        s = f.read()
    a, b = s.find(BEGIN), s.find(END)
    if a < 0 or b < a:
        raise SystemExit(f"{path}: no {BEGIN!r} ... {END!r} block")
    write_atomic(path, (s[: a + len(BEGIN)] + "\n" + text + "\n" + s[b:]).encode("utf-8"))


def plot(runs, out):
    """accuracy.png (test accuracy per epoch, one colour per score, one line per seed) and maps.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = sorted({label(r) for r in runs}, key=lambda k: [*nn.SCORES, k].index(k.split(" ")[0]))
    order = list(nn.SCORES)
    fig, ax = plt.subplots(figsize=(9, 5.2))
    for lab in labels:
        base = lab.split(" ")[0]
        c = plt.get_cmap("tab10")(order.index(base) % 10)
        style = "o-" if lab == base else "s--"  # variants (score options) dashed
        for i, r in enumerate(sorted((r for r in runs if label(r) == lab), key=lambda r: r["seed"])):
            ep = [e["epoch"] for e in r["epochs"]]
            acc = [100 * e["test_accuracy"] for e in r["epochs"]]
            ax.plot(ep, acc, style, color=c, ms=3, lw=1.4, alpha=0.85, label=lab if i == 0 else None)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(-2, 102)
    ax.grid(alpha=0.3)
    ax.set_title("Ten attention scores on the book's dates (one line per seed)")
    ax.legend(fontsize=8, ncol=2, loc="center right")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "accuracy.png"), dpi=110)
    plt.close(fig)
    why(runs, labels, out, plt)
    seed0 = {label(r): r for r in runs if r["seed"] == 0 and r.get("maps")}
    n = len(seed0)
    if not n:
        return
    cols = min(5, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.4 * rows + 0.4), squeeze=False)
    for ax in np.ravel(axes)[n:]:
        ax.axis("off")
    for ax, lab in zip(np.ravel(axes), [k for k in labels if k in seed0]):
        r = seed0[lab]
        m = r["maps"][0]
        w = np.array(m["weights"])
        ax.imshow(w, cmap="viridis", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(m["question"])), list(m["question"]), fontsize=6)
        ax.set_yticks(range(len(m["answer"])), list(m["answer"]), fontsize=6)
        ax.set_title(f"{lab}\n{100 * r['best_accuracy']:.1f} % (seed 0)", fontsize=8)
    first = next(iter(seed0.values()))["maps"][0]["question"]
    fig.suptitle(f"Attention of each score on {first!r} (seed 0, at its last epoch)")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "maps.png"), dpi=110)
    plt.close(fig)


def why(runs, labels, out, plt):
    """why.png: how peaked each score's attention is per epoch, and the maps of the runs that stay below 50 %.

    The top panel is the mean largest weight of the softmax over 29 positions (1/29 = uniform); the
    rows below show each finished run that stays below 50 % on three test dates written in different formats.
    """
    seed0 = [r for r in runs if r["seed"] == 0]
    failing = [r for r in seed0 if r["finished"] and r["best_accuracy"] < LEARNS and r.get("maps")]
    nrows = 1 + len(failing)
    ncols = max(3, MAP_EXAMPLES)
    fig = plt.figure(figsize=(4.2 * ncols, 3.6 * nrows))
    grid = fig.add_gridspec(nrows, ncols)
    ax = fig.add_subplot(grid[0, :])
    order = list(nn.SCORES)
    for r in seed0:
        base = r["score"]
        c = plt.get_cmap("tab10")(order.index(base) % 10)
        ep = [e["epoch"] for e in r["epochs"]]
        ax.plot(ep, [e["mean_max_weight"] for e in r["epochs"]], "o-" if not r.get("options") else "s--", color=c,
                ms=3, label=label(r) + ("" if r["finished"] else " (unfinished)"))  # fmt: skip
    ax.axhline(1 / 29, color="k", lw=0.8, ls=":")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean largest attention weight")
    ax.set_title("How peaked the attention is (seed 0; dotted: uniform over 29 positions)")
    ax.legend(fontsize=7, ncol=3)
    for i, r in enumerate(failing, start=1):
        for j, m in enumerate(r["maps"][:ncols]):
            a = fig.add_subplot(grid[i, j])
            a.imshow(np.array(m["weights"]), cmap="viridis", vmin=0, vmax=1, aspect="auto")
            a.set_xticks(range(len(m["question"])), list(m["question"]), fontsize=6)
            a.set_yticks(range(len(m["answer"])), list(m["answer"]), fontsize=6)
            a.set_title(f"{label(r)} ({100 * r['best_accuracy']:.1f} %): {m['question']!r}", fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "why.png"), dpi=100)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    p.add_argument("--data", default="book:date", help="book:date (default), or a file in the book's format")
    p.add_argument("--out", default=os.path.join("docs", "models", "scores"))
    p.add_argument("--scores", nargs="+", default=list(nn.SCORES), choices=list(nn.SCORES))
    p.add_argument("--seeds", type=int, default=3, help="seeds for every score that learns (default 3)")
    p.add_argument("--variant", action="append", default=[], help="extra run 'score:option=value' (seed 0)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--target", type=float, default=0.999)
    p.add_argument("--patience", type=int, default=3)
    p.add_argument("--min-gain", type=float, default=0.002)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--wordvec", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--max-grad", type=float, default=5.0)
    p.add_argument("--train-limit", type=int, help="use only this many training examples (quick checks)")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    p.add_argument("--only-seed", type=int, metavar="N", help="run only seed N (to split the study across processes)")
    p.add_argument("--report", action="store_true", help="only print the table and draw the plots from the JSON")
    p.add_argument("--readme", metavar="FILE", help="with --report: put the table between the score-table markers")
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    if args.report:
        runs = load_runs(args.out)
        print(table(runs))
        plot(runs, args.out)
        if args.readme:
            update_readme(args.readme, table(runs))
        return
    from tinygrad_attn.commands.train import limit_blas_threads

    limit_blas_threads(args.threads)
    d = data.load_pairs(args.data).reversed()
    if args.train_limit:
        d.x_train, d.t_train = d.x_train[: args.train_limit], d.t_train[: args.train_limit]
    plan = [(s, {}, 0) for s in args.scores] + [(*parse_variant(v), 0) for v in args.variant]
    for seed in range(1, args.seeds):
        plan += [(s, {}, seed) for s in args.scores]
    if args.only_seed is not None:
        plan = [run for run in plan if run[2] == args.only_seed]
    for score, options, seed in plan:
        path = os.path.join(args.out, run_name(score, options, seed) + ".json")
        if os.path.exists(path) and json.load(open(path)).get("finished"):
            continue
        if seed > 0:
            first = os.path.join(args.out, run_name(score, options, 0) + ".json")
            if os.path.exists(first) and json.load(open(first))["best_accuracy"] < LEARNS:
                continue  # does not learn: one seed shows it
        train_one(d, score, options, seed, args, path)
    print(table(load_runs(args.out)))


if __name__ == "__main__":
    main()
