"""The vanishing-gradient study: graph pictures and plots of gradient flow into out/."""

from __future__ import annotations

import os
import sys
import tempfile
import time

PROG = "tinygrad-attn demo"


class UsageError(Exception):
    """A folder the demo cannot write, reported as one line."""


def add_arguments(p):
    p.add_argument("--out", default="out", help="folder for the pictures (default out/)")
    p.add_argument("--no-frames", action="store_true", help="skip the step-through frames of the tanh chain")


def prepare_out(out):
    """Create the folder `out` (and its parents) and check that a file can be written in it, before any work."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise UsageError(f"--out {out}: exists and is not a folder")
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        raise UsageError(f"--out {out}: cannot create the folder ({e.strerror or e})") from None
    try:
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as e:
        raise UsageError(f"--out {out}: cannot write in the folder ({e.strerror or e})") from None


def run(args) -> int:
    """Run the demo; a folder it cannot write ends with one line on stderr and exit status 2."""
    try:
        prepare_out(args.out)
        return _demo(args)
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # the folder stopped being writable half way (disk full, removed)
        print(f"{PROG}: error: --out {args.out}: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 2


def _demo(args) -> int:
    from . import study

    t0 = time.perf_counter()
    written, numbers = study.run(args.out, step_frames=not args.no_frames)
    written += explorer_pages(args.out)
    print(f"wrote {len(written)} files in {time.perf_counter() - t0:.1f} s:")
    for path, what in written:
        print(f"  {path:34s} {what}")
    print()
    print(study.reading(numbers))
    return 0


def explorer_pages(out):
    """The backprop explorer (viz.explore) for the 12-step tanh chain and a 6-step tanh RNN; [(path, what)]."""
    import os

    import numpy as np

    from viz import RenderError, explore

    from ..tensor import Tensor
    from .analysis import unroll_tanh_rnn

    x = Tensor(1.0, requires_grad=True, name="x", dtype=np.float64)
    h = x
    for k in range(1, 13):
        h = h.tanh()
        h.name = f"h_{k}"
    loss, _, _ = unroll_tanh_rnn(T=6, H=4, radius=1.0, seed=0)
    pages = [
        (h, "h_k = tanh(h_(k-1)), 12 steps", "explore_tanh_chain.html", "backprop explorer: the tanh chain"),
        (loss, "tanh RNN, 6 steps, H=4", "explore_rnn_T6.html", "backprop explorer: a 6-step tanh RNN, ||dL/dh_t||"),
    ]
    try:
        return [(explore(t, title=title).save(os.path.join(out, name)), what) for t, title, name, what in pages]
    except RenderError as e:
        return [("(explorer pages skipped)", str(e))]
