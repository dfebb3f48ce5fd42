"""One engine in a process of its own, timing workloads on request (driven by compare.py).

    PYTHONPATH=TREE python benchmarks/worker.py --workloads rnn_mid seq2seq [--book FILE.npz]

It imports the tinygrad_attn that PYTHONPATH finds (the tree under test) but this folder's
workloads, so two trees run the same graphs. At start it builds every workload, warms each up,
suggests its steps per sample, freezes the garbage collector's view of everything built (so one
workload's collections do not walk the others' graphs) and prints one JSON line: the engine's
path, each workload's fastest warm-up step, steps per sample and first loss, or the error that
stopped it. Then each line read from stdin, `NAME INNER`, asks for one sample of INNER steps of
workload NAME; the reply is one line, the wall and CPU seconds per step of that sample.
An empty line or end of input ends it. The book's batches are read from FILE.npz when it exists,
otherwise read from the book's data and written there, for the next worker to read.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys

import timing
import workloads


def book_batches(names, path, data_dir):
    """{workload: book_batch} for the book's workloads among `names`, shared through `path` (.npz)."""
    import numpy as np

    wanted = [n for n in names if n in workloads.BOOK]
    if path and os.path.exists(path):
        with np.load(path) as f:
            return {n: {k: f[f"{n}.{k}"] for k in ("x", "t", "vocab_size")} for n in wanted}
    out = {}
    for n in wanted:
        try:
            out[n] = workloads.book_batch(n, data_dir)
        except (OSError, ValueError, KeyError) as e:
            out[n] = e
    if path:
        flat = {f"{n}.{k}": v for n, b in out.items() if isinstance(b, dict) for k, v in b.items()}
        tmp = f"{path}.tmp.npz"
        np.savez(tmp, **flat)
        os.replace(tmp, path)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workloads", nargs="+", required=True, choices=workloads.NAMES)
    ap.add_argument("--book", help="an .npz of the book's batches, read if it exists, else written")
    ap.add_argument("--data-dir", help="folder of addition.txt and date.txt (else book:<task>)")
    ap.add_argument("--min-sample-ms", type=float, default=timing.MIN_SAMPLE_S * 1e3)
    args = ap.parse_args(argv)
    reply = sys.stdout
    sys.stdout = sys.stderr  # anything the engine prints stays out of the replies

    import tinygrad_attn

    batches = book_batches(args.workloads, args.book, args.data_dir)
    steps = {}
    report = {"engine": os.path.abspath(tinygrad_attn.__file__), "inner": {}, "step_s": {}, "loss": {}, "error": {}}
    for name in args.workloads:
        try:
            batch = batches.get(name)
            if isinstance(batch, Exception):
                raise batch
            step = workloads.build(name, book=batch)
            report["loss"][name] = step()
            fastest = timing.warm_up(step)
        except Exception as e:  # an older tree may lack what a workload needs: report it, time the rest
            report["error"][name] = f"{type(e).__name__}: {e}"
            continue
        steps[name] = step
        report["step_s"][name] = fastest
        report["inner"][name] = timing.inner_steps(fastest, args.min_sample_ms / 1e3)
    gc.collect()
    gc.freeze()
    print(json.dumps(report), file=reply, flush=True)
    for line in sys.stdin:
        if not line.strip():
            break
        name, inner = line.split()
        wall, cpu = timing.sample(steps[name], int(inner))
        print(f"{wall!r} {cpu!r}", file=reply, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
