"""Ask a trained model: print its answer to QUESTION (and, with --plot, draw where it looked).

Examples:
  tinygrad-attn train --data book:date --model attention --reverse --epochs 1 --save date.npz
  tinygrad-attn predict --checkpoint date.npz "september 27, 1994" --plot attention.png
  tinygrad-attn predict --checkpoint date.npz "2/10/93" --plot maps/      # maps/attention.png

The checkpoint (written by `train --save`) carries the vocabulary, the model settings and the
data layout: the question is padded to the trained width (and reversed if the model was trained
on reversed input), then the answer is decoded greedily and printed without its padding.
"""

from __future__ import annotations

import argparse
import sys

from . import plot_path

PROG = "tinygrad-attn predict"


class UsageError(Exception):
    """A problem with the flags, the checkpoint or the question, reported as one line."""


def _one_line_error(message):
    print(f"{PROG}: error: {message}", file=sys.stderr)
    sys.exit(2)


def add_arguments(p):
    """The flags of `tinygrad-attn predict`."""
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.error = _one_line_error
    p.add_argument("--checkpoint", metavar="FILE", required=True, help="a checkpoint written by `train --save`")
    p.add_argument("question", type=_question, help="the question, written as in the training data (quote it)")
    p.add_argument(
        "--plot",
        metavar="PATH",
        help="draw the attention map of this question (attention models) into PATH (a folder: PATH/attention.png); "
        + plot_path.RULE,
    )
    p.add_argument(
        "--explore",
        metavar="PAGE",
        help="write an HTML page: the attention weights beside dL/d(weights) for the answer given (attention models)",
    )


def _question(text):
    """argparse type of QUESTION: any text but an empty (or all-space) one."""
    if not text.strip():
        raise argparse.ArgumentTypeError('the question is empty; write one in quotes, e.g. "12+34"')
    return text


def encode_question(question, vocab, width, reverse):
    """QUESTION -> ids (1, width) as the model was trained (padded, reversed); errors name what does not fit."""
    tokens = vocab.tokens(question)
    unit = "characters" if vocab.level == "char" else "words"
    if len(tokens) > width:
        raise UsageError(f"the question has {len(tokens)} {unit}; this model was trained on at most {width}")
    unknown = [t for t in dict.fromkeys(tokens) if t not in vocab]
    if unknown:
        shown = "".join(vocab.itos) if vocab.level == "char" else " ".join(vocab.itos[:40])
        raise UsageError(f"{unit} {unknown} of the question are not in the model's vocabulary ({shown!r})")
    if len(tokens) < width and vocab.pad not in vocab:  # trained on lines of one length: no padding was needed
        raise UsageError(
            f"the question has {len(tokens)} {unit}; this model was trained on exactly {width} "
            f"(its vocabulary has no padding token {vocab.pad!r})"
        )
    x = vocab.encode_batch([question], width=width)
    return x[:, ::-1].copy() if reverse else x


def predict(args) -> int:
    from ..io import CheckpointError
    from .checkpoint import load_model
    from .train import UsageError as TrainUsageError
    from .train import check_output_path

    if args.plot is not None:
        try:
            check_output_path("--plot", args.plot, is_dir=not plot_path.is_picture_file(args.plot))
        except TrainUsageError as e:
            raise UsageError(str(e)) from None
    if args.explore is not None:
        try:
            check_output_path("--explore", args.explore)
        except TrainUsageError as e:
            raise UsageError(str(e)) from None
    try:
        model, meta = load_model(args.checkpoint)
    except CheckpointError as e:
        raise UsageError(str(e)) from None
    if args.plot is not None and meta["model"] in ("seq2seq", "peeky"):
        raise UsageError(f"--plot: the {meta['model']} model has no attention to draw (train an attention model)")
    if args.explore is not None and meta["model"] in ("seq2seq", "peeky"):
        raise UsageError(f"--explore: the {meta['model']} model has no attention to show (train an attention model)")
    vocab = meta["vocab"]
    x = encode_question(args.question, vocab, meta["question_len"], meta["reverse"])
    ids = model.generate(x, vocab.start_id, meta["answer_len"] - 1)
    answer = vocab.decode(ids[0], strip=True)
    print(answer)
    if args.plot is not None:
        w, keys = model.attention_weights[0], x[0]
        if meta["reverse"]:  # columns in reading order, not in the order the encoder was fed
            w, keys = w[:, ::-1], keys[::-1]
        _plot(args, w, [vocab.itos[i] for i in keys], [vocab.itos[i] for i in ids[0]], answer)
    if args.explore is not None:
        _explore(args, model, x, ids, vocab, meta["reverse"], answer)
    return 0


def plain_text(text):
    """`text` as matplotlib draws it literally: every `$` escaped, so no `$...$` becomes mathtext (or a parse error)."""
    return text.replace("$", r"\$")


def _plot(args, weights, keys, queries, answer):
    """The attention map of this one question through viz.plots (imported only when asked for)."""
    try:
        from viz import plots
    except ImportError as e:
        raise UsageError(f"--plot: viz.plots is not available ({e})") from None

    def label(tok):
        return "\u2423" if tok == " " else plain_text(tok)  # a visible space: padding is a token the model attends to

    title = plain_text(f"{args.question!r} -> {answer!r}")
    plot_path.make_room(args.plot)
    path = plot_path.picture(args.plot, "attention", main=True)
    plots.attention_heatmap(weights, [label(t) for t in queries], [label(t) for t in keys], path, title=title)
    print(f"wrote {path}")


def _explore(args, model, x, ids, vocab, reverse, answer):
    """The attention page of this question and the answer given, through viz.explore_attention."""
    import numpy as np

    try:
        from viz import explore_attention
    except ImportError as e:
        raise UsageError(f"--explore: viz is not available ({e})") from None
    tgt = np.concatenate([[[vocab.start_id]], ids], axis=1)
    page = explore_attention(
        model,
        x,
        tgt,
        src_tokens=[vocab.itos[i] for i in x[0]],
        tgt_tokens=[vocab.itos[i] for i in tgt[0]],
        reverse=reverse,
        title=f"{args.question!r} -> {answer!r}: attention and dL/d(attention)",
    )
    page.save(args.explore)
    print(f"wrote {args.explore}")


def run(args) -> int:
    """Run the command; problems end with one line on stderr and exit status 2."""
    try:
        return predict(args)
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # --plot not writable after all
        print(f"{PROG}: error: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 2
