"""Draw every figure of the lecture from real computations, each with a caption that says what to see.

  tinygrad-attn lecture --out lecture/            # English captions
  tinygrad-attn lecture --out lecture/ --lang ko  # Korean captions (the lecture's language)

Figures: 6-2 (the RNN layer's graph, per-step MatMul nodes), 6-4 (the gradient reaching each word
of the "Tom" sentence: tanh RNN, LSTM, attention), 6-7 (backprop through MatMul only, radius
below, at and above 1), tanh' <= 1, Seq2Seq's context vector, 8-18 (the decoder with attention
as a block diagram), Table 3 (the ten scores and the maps they learned: read from the study's
JSON in --scores-dir when there, else trained briefly here), the Transformer's self-attention.
Writes the pictures, `lecture.md` (pictures and captions in --lang; `lecture_en.md` and
`lecture_ko.md` in each language), `captions.json` (both languages) and `numbers.json` (what each
caption quotes).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

PROG = "tinygrad-attn lecture"


def add_arguments(p):
    """The flags of `tinygrad-attn lecture`."""
    from .lecture_captions import LANGS
    from .lecture_figures import FIGURES, SCORES_DIR

    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the pictures (created if missing)")
    p.add_argument("--lang", choices=LANGS, default="en", help="language of lecture.md's captions (default en)")
    p.add_argument(
        "--scores-dir",
        default=SCORES_DIR,
        metavar="DIR",
        help=f"the score study's JSON files for Table 3 (default {SCORES_DIR}); missing scores train briefly",
    )
    p.add_argument("--only", nargs="+", choices=list(FIGURES), metavar="FIG", help="only these figures")
    p.add_argument("--quick", action="store_true", help="a few training steps only (for tests)")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1: small matrices, shared CPU)")


def build(out, lang="en", quick=False, scores_dir=None, only=None):
    """Draw the figures into `out`; returns {fig: numbers} (numbers include 'files' and 'seconds').

    With `only`, the other figures' numbers and captions already in `out` are kept, so lecture.md stays whole.
    """
    from . import lecture_figures as L
    from .lecture_captions import LANGS, TITLES, caption

    os.makedirs(out, exist_ok=True)
    results, captions = {}, {}
    if only:  # redraw some figures: keep what an earlier run wrote about the others
        try:
            with open(os.path.join(out, "numbers.json")) as f:
                old = json.load(f)
            with open(os.path.join(out, "captions.json"), encoding="utf-8") as f:
                old_caps = json.load(f)
        except (OSError, ValueError):
            old, old_caps = {}, {}
        for fig in L.FIGURES:
            if fig in old and fig in old_caps and fig not in only:
                results[fig] = old[fig]
                captions[fig] = {lg: old_caps[fig][lg] for lg in LANGS}
    for fig, fn in L.FIGURES.items():
        if only and fig not in only:
            continue
        t0 = time.perf_counter()
        kw = {"scores_dir": scores_dir} if fig == "table3" and scores_dir else {}
        numbers = fn(out, quick, **kw)
        numbers["seconds"] = round(time.perf_counter() - t0, 2)
        results[fig] = numbers
        results = {k: results[k] for k in L.FIGURES if k in results}  # the lecture's order
        captions[fig] = {lg: caption(fig, numbers, lg) for lg in LANGS}
        print(f"[{numbers['seconds']:5.1f} s] {TITLES[fig][lang]}: {', '.join(numbers['files'])}", flush=True)
    with open(os.path.join(out, "captions.json"), "w", encoding="utf-8") as f:
        json.dump({k: {"title": TITLES[k], **captions[k]} for k in results}, f, ensure_ascii=False, indent=1)
    with open(os.path.join(out, "numbers.json"), "w") as f:
        json.dump(results, f, indent=1, default=float)
    for lg in LANGS:
        text = _markdown(results, captions, lg)
        for name in [f"lecture_{lg}.md"] + (["lecture.md"] if lg == lang else []):
            with open(os.path.join(out, name), "w", encoding="utf-8") as f:
                f.write(text)
    return results


def _markdown(results, captions, lang):
    """lecture.md: each figure's pictures and its caption in `lang`."""
    from .lecture_captions import TITLES

    head = {"en": "# The lecture, figure by figure", "ko": "# 강의, 그림 하나씩"}[lang]
    lines = [head, ""]
    for fig, numbers in results.items():
        lines += [f"## {TITLES[fig][lang]}", ""]
        lines += [f"![{fig}]({name})\n" for name in numbers["files"] if name.endswith(".png")]
        lines += [captions[fig][lang], ""]
    return "\n".join(lines)


def run(args) -> int:
    """Run the command; returns the exit status."""
    from .train import limit_blas_threads

    if args.threads < 1:
        print(f"{PROG}: error: --threads must be >= 1, got {args.threads}", file=sys.stderr)
        return 2
    limit_blas_threads(args.threads)
    t0 = time.perf_counter()
    try:
        build(args.out, args.lang, args.quick, args.scores_dir, args.only)
    except OSError as e:
        print(f"{PROG}: error: {e.filename or args.out}: {e.strerror or e}", file=sys.stderr)
        return 2
    print(f"wrote {os.path.join(args.out, 'lecture.md')} in {time.perf_counter() - t0:.0f} s")
    return 0
