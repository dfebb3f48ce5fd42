"""The vanishing-gradient study: graph pictures and plots of gradient flow into out/."""

from __future__ import annotations

import time


def add_arguments(p):
    p.add_argument("--out", default="out", help="folder for the pictures (default out/)")
    p.add_argument("--no-frames", action="store_true", help="skip the step-through frames of the tanh chain")


def run(args) -> int:
    from . import study

    t0 = time.perf_counter()
    written, numbers = study.run(args.out, step_frames=not args.no_frames)
    print(f"wrote {len(written)} files in {time.perf_counter() - t0:.1f} s:")
    for path, what in written:
        print(f"  {path:34s} {what}")
    print()
    print(study.reading(numbers))
    return 0
