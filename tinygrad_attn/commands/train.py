"""Train a seq2seq model on the book's data, a generated task or your own file; report loss and accuracy per epoch.

Examples:
  tinygrad-attn train --data book:addition --model peeky --reverse --epochs 25
  tinygrad-attn train --data book:date --model attention --reverse --epochs 3 --hidden 256
  tinygrad-attn train --data my_pairs.txt --model attention --split none --plot curves.png
  tinygrad-attn train --task reversal --model transformer --epochs 5

--data takes the book's two datasets, which ship with the package (book:addition, chapter 7;
book:date, chapter 8; from "Deep Learning from Scratch 2" by Koki Saitoh, MIT licence), or a
file of your own in the same format: one question, `_`, the answer per line.

Accuracy is exact match over the whole answer (padding included), decoded greedily, as the book
counts it. With --data the split is the book's (seed 1984, last tenth for testing); with
--split none everything trains and the accuracy reported is on the training set. Like the
book's trainer, an epoch is N // batch-size steps over a fresh shuffle (the remainder waits).
Checkpoints (--save) carry the vocabulary and the model settings: `tinygrad-attn predict` asks them.
LSTMs train with fused cells (one LSTMCell node per step, ops/cells.py): the same parameters and
checkpoint, numbers equal up to rounding; every drawn graph keeps the op-level cell.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from . import plot_path
from .checkpoint import MODELS, model_settings

DEFAULT_HIDDEN = {"seq2seq": 128, "peeky": 128, "attention": 256, "transformer": 64}
PROG = "tinygrad-attn train"


class UsageError(Exception):
    """A problem with the flags or the data, reported as one line."""


def _positive(kind):
    def parse(s):
        try:
            v = kind(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{s!r} is not a {kind.__name__}") from None
        if v <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {s}")
        return v

    return parse


def _one_line_error(message):
    print(f"{PROG}: error: {message}", file=sys.stderr)
    sys.exit(2)


def add_arguments(p):
    """The flags of `tinygrad-attn train`."""
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.error = _one_line_error  # bad flags: one line, no usage dump
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--data",
        metavar="PATH",
        help="book:addition or book:date (the book's data, shipped with the package), or a text file in the "
        "book's format (question _answer per line)",
    )
    src.add_argument("--task", choices=("addition", "dates", "reversal", "recall"), help="a generated task")
    p.add_argument("--model", choices=MODELS, default="seq2seq", help="model (default seq2seq)")
    p.add_argument("--cell", choices=("lstm", "gru", "rnn"), default="lstm", help="recurrent cell (default lstm)")
    from ..nn import SCORES  # the registry: a score function added there is accepted here

    p.add_argument("--score", choices=list(SCORES), default="dot", help="attention score function (default dot)")
    p.add_argument("--reverse", action="store_true", help="reverse the questions (the book's trick)")
    p.add_argument("--epochs", type=_positive(int), default=25, help="epochs (default 25)")
    p.add_argument("--batch-size", type=_positive(int), default=128, help="minibatch size (default 128)")
    p.add_argument(
        "--hidden", type=_positive(int), help="hidden size / d_model (default 128, attention 256, transformer 64)"
    )
    p.add_argument(
        "--wordvec", type=_positive(int), default=16, help="embedding size of the recurrent models (default 16)"
    )
    p.add_argument("--heads", type=_positive(int), default=4, help="transformer heads (default 4)")
    p.add_argument("--layers", type=_positive(int), default=2, help="transformer layers (default 2)")
    p.add_argument("--lr", type=_positive(float), default=1e-3, help="Adam learning rate (default 1e-3)")
    p.add_argument(
        "--lr-schedule",
        choices=("constant", "cosine"),
        default="constant",
        help="constant lr as the book (default), or a cosine decay to 0 by the last step",
    )
    p.add_argument(
        "--decay-start",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="with --lr-schedule cosine: keep the lr constant for this fraction of the steps, then decay (default 0)",
    )
    p.add_argument("--max-grad", type=_positive(float), default=5.0, help="clip the global gradient norm (default 5)")
    p.add_argument("--seed", type=int, default=0, help="seed for weights, batches and generated data (default 0)")
    p.add_argument(
        "--split",
        choices=("book", "none"),
        default="book",
        help="split of a --data file: the book's, or none (all for training, accuracy on it) (default book)",
    )
    p.add_argument(
        "--level",
        choices=("char", "word"),
        default="char",
        help="tokens of a --data file: characters (default) or words",
    )
    p.add_argument(
        "--max-len",
        type=_positive(int),
        default=256,
        help="longest question or answer of a --data file, in tokens; a longer line is an error (default 256)",
    )
    p.add_argument("--train-size", type=_positive(int), help="examples of a generated task for training")
    p.add_argument("--test-size", type=_positive(int), help="examples of a generated task for testing")
    p.add_argument("--distance", type=_positive(int), default=10, help="--task recall: tokens between name and '?'")
    p.add_argument("--metrics-json", metavar="FILE", help="write per-epoch loss, accuracy and seconds as JSON")
    p.add_argument(
        "--save", metavar="FILE", help="save weights, vocabulary and settings after every epoch (.npz; see predict)"
    )
    p.add_argument(
        "--init", metavar="FILE", help="start from the weights of a checkpoint of the same model and vocabulary"
    )
    p.add_argument(
        "--plot",
        metavar="PATH",
        help="draw the training curves into PATH (a folder: PATH/training_curves.png) and, for attention models, "
        "heatmaps of three test questions (PATH/attention_<i>.png, or beside the file: <stem>_attention_<i>.png); "
        + plot_path.RULE,
    )
    p.add_argument(
        "--threads",
        type=_positive(int),
        default=None,
        help="BLAS threads, >= 1 (default 1 unless OPENBLAS_NUM_THREADS/OMP_NUM_THREADS is set: these matrices are "
        "small, and extra threads only wait on a busy machine)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def limit_blas_threads(n: int) -> bool:
    """Ask the OpenBLAS that numpy loaded to use `n` threads; False when none is found (Linux only)."""
    import ctypes

    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower() and "/" in line}
    except OSError:
        return False
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for sym in ("openblas_set_num_threads", "scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_"):
            fn = getattr(lib, sym, None)
            if fn is not None:
                fn(ctypes.c_int(n))
                return True
    return False


def load_data(args):
    """The PairData that the flags ask for (reversed questions with --reverse)."""
    from .. import data as D

    if args.data is not None:
        if os.path.isdir(args.data):
            raise UsageError(f"--data {args.data}: is a directory, not a file")
        try:
            d = D.load_pairs(args.data, split=args.split, level=args.level, max_len=args.max_len)
        except OSError as e:
            raise UsageError(f"--data {args.data}: {e.strerror or e}") from None
        except (ValueError, KeyError) as e:
            msg = str(e) if isinstance(e, ValueError) else str(e.args[0])
            raise UsageError(msg if msg.startswith(args.data) else f"--data {args.data}: {msg}") from None
    else:
        kw = {"seed": args.seed}
        if args.train_size:
            kw["n_train"] = args.train_size
        if args.test_size:
            kw["n_test"] = args.test_size
        if args.task == "recall":
            kw["distance"] = args.distance
        try:
            d = D.TASKS[args.task](**kw)
        except ValueError as e:
            raise UsageError(str(e)) from None
    if len(d.x_test) == 0 and args.split != "none":
        raise UsageError("no test examples (use --split book or a --test-size)")
    return d.reversed() if args.reverse else d


def settings_from_args(args, vocab_size, src_len, tgt_len):
    """The constructor keywords of the model the flags ask for."""
    H = args.hidden or DEFAULT_HIDDEN[args.model]
    if args.model == "transformer" and H % args.heads:
        raise UsageError(f"--hidden {H} is not divisible by --heads {args.heads}")
    return model_settings(
        args.model, vocab_size, src_len, tgt_len, H, args.wordvec, args.cell, args.score, args.heads, args.layers
    )


def build_model(args, vocab_size, src_len, tgt_len):
    """The model the flags ask for."""
    from .checkpoint import build_model as build

    return build(args.model, settings_from_args(args, vocab_size, src_len, tgt_len))


def check_output_path(flag, path, is_dir=False):
    """Fail before any training if `path` cannot be written: its directory must exist and be writable."""
    path = os.path.abspath(path)
    if is_dir and os.path.isdir(path):
        target = path
    elif os.path.isdir(path):
        raise UsageError(f"{flag} {path}: is a directory, not a file")
    elif is_dir and os.path.exists(path):
        raise UsageError(f"{flag} {path}: exists and is not a directory")
    else:
        target = os.path.dirname(path)
        if not os.path.isdir(target):
            raise UsageError(f"{flag} {path}: directory {target} does not exist")
    if not os.access(target, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {path}: directory {target} is not writable")


def _init_from(args, model, d, settings):
    """--init: load a checkpoint's weights, refusing another vocabulary or other model settings."""
    from ..io import CheckpointError
    from .checkpoint import load_model

    try:
        old, meta = load_model(args.init, vocab=d.vocab)
    except CheckpointError as e:
        raise UsageError(f"--init {e}") from None
    if (meta["model"], meta["settings"]) != (args.model, settings):
        theirs = {"model": meta["model"], **meta["settings"]}
        mine = {"model": args.model, **settings}
        diff = ", ".join(
            f"{k}: {theirs.get(k)!r} in the checkpoint, {mine.get(k)!r} here"
            for k in mine
            if theirs.get(k) != mine.get(k)
        )
        raise UsageError(f"--init {args.init}: a different model ({diff})")
    if meta["reverse"] != args.reverse:
        said = "with" if meta["reverse"] else "without"
        raise UsageError(f"--init {args.init}: trained {said} --reverse; give the same flag to continue")
    model.load_state_dict(old.state_dict())


def evaluate(model, x, t, start_id, batch_size=500):
    """Exact-match accuracy of greedy decoding: every generated token must equal t[:, 1:]."""
    model.eval()
    correct = 0
    for k in range(0, len(x), batch_size):
        ids = model.generate(x[k : k + batch_size], start_id, t.shape[1] - 1)
        correct += int((ids == t[k : k + batch_size, 1:]).all(axis=1).sum())
    model.train()
    return correct / len(x)


def _write_json(path, history):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump({"epochs": history}, f, indent=1)
    os.replace(tmp, path)


def _plots(args, model, d, history, x_eval, t_eval):
    """Training curves, and for attention models heatmaps of a few test examples (viz.plots)."""
    try:
        from viz import plots
    except ImportError as e:
        print(f"--plot: viz.plots is not available ({e}); no plots written", file=sys.stderr)
        return
    plot_path.make_room(args.plot)
    written = []
    try:
        curves = {
            "loss": [e["train_loss"] for e in history],
            "accuracy": [e.get("test_accuracy", e.get("train_accuracy")) for e in history],
        }
        title = f"{d.name or args.task}: {args.model}{' (reversed input)' if args.reverse else ''}"
        path = plot_path.picture(args.plot, "training_curves", main=True)
        plots.training_curves(curves, path, title=title)
        written.append(path)
        if args.model in ("attention", "transformer"):
            n = min(3, len(x_eval))
            x, t = x_eval[:n], t_eval[:n]
            ids = model.generate(x, d.vocab.start_id, t.shape[1] - 1)
            w = model.attention_weights
            for i in range(n):
                keys = [d.vocab.itos[j] for j in x[i]]  # as the encoder reads them (reversed with --reverse)
                queries = [d.vocab.itos[j] for j in ids[i]]
                path = plot_path.picture(args.plot, f"attention_{i}")
                plots.attention_heatmap(w[i], queries, keys, path, title=f"{args.model}: attention")
                written.append(path)
    except (AttributeError, TypeError, ValueError) as e:
        print(f"--plot: viz.plots could not draw ({e})", file=sys.stderr)
    for p in written:
        print(f"wrote {p}")


def train(args) -> int:
    import tinygrad_attn as ta
    from tinygrad_attn import functional as F
    from tinygrad_attn import optim
    from tinygrad_attn.data import batches, num_batches

    from .checkpoint import build_model as build_from_settings
    from .checkpoint import save_checkpoint

    for flag, path, is_dir in (
        ("--metrics-json", args.metrics_json, False),
        ("--save", args.save, False),
        ("--plot", args.plot, args.plot is not None and not plot_path.is_picture_file(args.plot)),
    ):
        if path is not None:
            check_output_path(flag, path, is_dir)
    if not 0 <= args.decay_start < 1:
        raise UsageError(f"--decay-start {args.decay_start}: must be in [0, 1)")
    if args.decay_start and args.lr_schedule != "cosine":
        raise UsageError("--decay-start needs --lr-schedule cosine")
    threads = args.threads
    if threads is None and not (os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")):
        threads = 1
    if threads:
        limit_blas_threads(threads)
    d = load_data(args)
    ta.seed(args.seed)
    settings = settings_from_args(args, len(d.vocab), d.x_train.shape[1], d.t_train.shape[1])
    model = build_from_settings(args.model, settings)
    if hasattr(model, "fuse_cells"):
        model.fuse_cells()  # one LSTMCell node per step while training; nothing here is drawn
    if args.init:
        _init_from(args, model, d, settings)
    # with --split none there is no test set: accuracy is measured on the training data
    x_eval, t_eval = (d.x_test, d.t_test) if len(d.x_test) else (d.x_train, d.t_train)
    acc_name = "test" if len(d.x_test) else "train"
    params = model.parameters()
    opt = optim.Adam(params, lr=args.lr)
    rng = np.random.default_rng(args.seed)
    start_id = d.vocab.start_id
    n_params = sum(p.data.size for p in params)
    # The book's trainer drops the last partial batch (45,000 // 128 = 351 steps per epoch);
    # so do we, unless the training set is smaller than one batch.
    drop_last = len(d.x_train) >= args.batch_size
    nb = num_batches(len(d.x_train), args.batch_size, drop_last)
    print(
        f"{d.name or args.task}: {len(d.x_train)} train / {len(d.x_test)} test, vocab {len(d.vocab)}"
        f"{' words' if d.vocab.level == 'word' else ''}, "
        f"{args.model} ({n_params} parameters){' reversed input' if args.reverse else ''}, "
        f"{nb} step{'s' if nb > 1 else ''} of {min(args.batch_size, len(d.x_train))} per epoch"
    )
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency

        def tqdm(it, **kw):
            return it

    sched = None
    if args.lr_schedule == "cosine":
        sched = optim.CosineDecay(opt, nb * args.epochs, start=int(args.decay_start * nb * args.epochs))
    history = []
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        total, count = 0.0, 0
        bar = tqdm(
            batches(d.x_train, d.t_train, args.batch_size, rng=rng, drop_last=drop_last),
            total=nb,
            desc=f"epoch {epoch}/{args.epochs}",
            disable=args.quiet,
            leave=False,
            mininterval=1.0,
        )
        for xb, tb in bar:
            loss = F.cross_entropy(model(xb, tb[:, :-1]), tb[:, 1:])
            opt.zero_grad()
            loss.backward()
            optim.clip_grad_norm_(params, args.max_grad)
            opt.step()
            if sched is not None:
                sched.step()
            value = loss.item()
            if not np.isfinite(value):
                raise UsageError(f"epoch {epoch}: the loss became {value}; try a smaller --lr")
            total += value * len(xb)
            count += len(xb)
            if not args.quiet:
                bar.set_postfix(loss=f"{value:.4f}", refresh=False)
        seconds = time.perf_counter() - t0
        t1 = time.perf_counter()
        acc = evaluate(model, x_eval, t_eval, start_id)
        history.append(
            {"epoch": epoch, "train_loss": total / count, f"{acc_name}_accuracy": acc, "seconds": round(seconds, 3)}
        )
        print(
            f"epoch {epoch:3d}  train loss {total / count:.4f}  {acc_name} acc {100 * acc:6.2f}%  "
            f"{seconds:6.1f} s (+{time.perf_counter() - t1:.1f} s eval)" + (f"  lr {opt.lr:.2e}" if sched else ""),
            flush=True,
        )
        if args.metrics_json:
            _write_json(args.metrics_json, history)
        if args.save:
            save_checkpoint(
                args.save, model, args.model, settings, d.vocab, d.x_train.shape[1], d.t_train.shape[1], args.reverse
            )
    _show_examples(model, x_eval, t_eval, d.vocab, start_id, args.reverse)
    if args.plot:
        _plots(args, model, d, history, x_eval, t_eval)
    return 0


def _show_examples(model, x, t, vocab, start_id, reverse, n=3):
    x, t = x[:n], t[:n]
    ids = model.generate(x, start_id, t.shape[1] - 1)
    for i in range(len(x)):
        ok = "ok " if (ids[i] == t[i, 1:]).all() else "bad"
        q = vocab.decode(x[i][::-1] if reverse else x[i])  # shown as written, not as fed
        print(f"  {ok} {q!r} -> {vocab.decode(ids[i])!r} (want {vocab.decode(t[i, 1:])!r})")


def run(args) -> int:
    """Run the command; problems end with one line on stderr and exit status 2."""
    try:
        return train(args)
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # --metrics-json / --save not writable
        print(f"{PROG}: error: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
