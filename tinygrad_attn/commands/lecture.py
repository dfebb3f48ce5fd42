"""Draw every figure of the lecture from real computations, each with a caption that says what to see.

  tinygrad-attn lecture --out lecture/            # English pictures and captions
  tinygrad-attn lecture --out lecture/ --lang ko  # Korean (the lecture's language), inside the pictures too

Figures: 6-2 (one RNN step and the layer unrolled, as the book draws them), 6-4 (the gradient
reaching each word of the "Tom" sentence: tanh RNN, LSTM, attention), 6-7 (backprop through MatMul
only: gain, product, overflow in float32), tanh' <= 1, Seq2Seq's context vector (a trained encoder,
short and long input), 8-18 (the decoder with attention), Table 3 (the ten scores and the maps they
learned, from the score study shipped with the package), the Transformer's attention. Each picture
is written as NAME.png and NAME.svg (real text); besides them `lecture.md` (pictures and captions
in --lang), `captions.json` (both languages) and `numbers.json` (what each caption quotes).
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
    from .lecture_figures import FIGURES

    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the pictures (created if missing)")
    p.add_argument("--lang", choices=LANGS, default="en", help="language of the pictures and lecture.md (default en)")
    p.add_argument(
        "--scores-dir",
        default=None,
        metavar="DIR",
        help="Table 3 from the score study's JSON files in DIR (e.g. docs/models/scores) instead of the copy "
        "shipped with the package; scores missing there are trained briefly",
    )
    p.add_argument("--only", nargs="+", choices=list(FIGURES), metavar="FIG", help="only these figures")
    p.add_argument("--quick", action="store_true", help="a few training steps only (for tests)")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1: small matrices, shared CPU)")


def picture_language(lang: str) -> str:
    """The language the pictures can be drawn in: `lang`, or English (with one warning) when no Korean font exists."""
    if lang != "ko":
        return lang
    from viz import fonts

    if fonts.cjk_family() is None:
        print(
            f"{PROG}: warning: no font with Hangul found ({fonts.INSTALL_HINT}); "
            "the pictures keep English words, the captions are Korean",
            file=sys.stderr,
        )
        return "en"
    return lang


def _kept(out, lang, only, figures):
    """An earlier run's numbers and captions of the figures not redrawn now (same picture language only)."""
    from .lecture_captions import LANGS

    try:
        with open(os.path.join(out, "numbers.json")) as f:
            old = json.load(f)
        with open(os.path.join(out, "captions.json"), encoding="utf-8") as f:
            old_caps = json.load(f)
    except (OSError, ValueError):
        return {}, {}
    results, captions = {}, {}
    for fig in figures:
        n = old.get(fig)
        if n and fig in old_caps and fig not in only and n.get("lang", "en") == lang:
            results[fig] = n
            captions[fig] = {lg: old_caps[fig][lg] for lg in LANGS}
    return results, captions


def build(out, lang="en", quick=False, scores_dir=None, only=None):
    """Draw the figures into `out`; returns {fig: numbers} (numbers include 'files', 'seconds' and 'lang').

    With `only`, the other figures' numbers and captions already in `out` are kept, so lecture.md stays whole.
    """
    from viz import fonts

    from . import lecture_figures as L
    from .lecture_captions import LANGS, TITLES, caption

    os.makedirs(out, exist_ok=True)
    pic_lang = picture_language(lang)
    results, captions = _kept(out, pic_lang, only, L.FIGURES) if only else ({}, {})
    for fig, fn in L.FIGURES.items():
        if only and fig not in only:
            continue
        t0 = time.perf_counter()
        kw = {"scores_dir": scores_dir} if fig == "table3" and scores_dir else {}
        with fonts.style(pic_lang):
            numbers = fn(out, pic_lang, quick, **kw)
        numbers["seconds"] = round(time.perf_counter() - t0, 2)
        numbers["lang"] = pic_lang
        results[fig] = numbers
        results = {k: results[k] for k in L.FIGURES if k in results}  # the lecture's order
        captions[fig] = {lg: caption(fig, numbers, lg) for lg in LANGS}
        print(f"[{numbers['seconds']:5.1f} s] {TITLES[fig][lang]}: {', '.join(numbers['files'])}", flush=True)
    with open(os.path.join(out, "captions.json"), "w", encoding="utf-8") as f:
        json.dump({k: {"title": TITLES[k], **captions[k]} for k in results}, f, ensure_ascii=False, indent=1)
    with open(os.path.join(out, "numbers.json"), "w") as f:
        json.dump(results, f, indent=1, default=float)
    with open(os.path.join(out, "lecture.md"), "w", encoding="utf-8") as f:
        f.write(_markdown(results, captions, lang))
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
    if args.scores_dir and not os.path.isdir(args.scores_dir):
        print(f"{PROG}: error: --scores-dir {args.scores_dir}: no such folder", file=sys.stderr)
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
