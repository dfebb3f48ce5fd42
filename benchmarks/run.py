"""Milliseconds per training step of tinygrad_attn on the bench's workloads (this tree's engine).

    python benchmarks/run.py                             # every workload, a table of ms/step
    python benchmarks/run.py --workloads rnn_mid seq2seq --rounds 15 --threads 2
    python benchmarks/run.py --peers numpy torch         # and the outside reference bench's steps, paired
    python benchmarks/run.py --check                     # one step of each against its hand-written numpy
    python benchmarks/run.py --reference [ARGS ...]      # run the outside reference bench itself with ARGS

The workloads are benchmarks/workloads.py's: five graphs of fixed sizes and the book's two tasks
(their data from `book:<task>`, or --data-dir / $TINYGRAD_ATTN_DATA holding addition.txt and
date.txt). All are built in one process, warmed up, then sampled round after round (timing.py:
samples of at least 50 ms, each after a collection and an untimed step); the table gives the
median over rounds and the interquartile range. With one BLAS thread (the default, as
`tinygrad-attn train`) the time is the process's CPU time, which a busy machine does not inflate
by the waits for a core; with more threads it is wall time.

--peers and --check need the outside reference bench (not part of this repository: the folder
named by TINYGRAD_ATTN_BENCH, or shared/bench beside the repository). Its adapters then run the
five graphs from the same weights and batch, interleaved with ours, and each ratio is the median
over rounds of ours / theirs in the same round.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys

import timing

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def reference(argv) -> int:
    """Run the outside reference bench's own run.py with `argv`."""
    import outside

    return subprocess.call([sys.executable, os.path.join(outside.require(), "run.py"), *argv])


def check(names, threads) -> int:
    """One step of each graph from the same weights in ours and the hand-written numpy: the loss
    and the update w1 - w0 agree to float32 rounding (1e-3 of the update's size). Status 1 if not."""
    import numpy as np
    import outside
    import workloads

    ref, bad = outside.adapter("numpy", threads), 0
    for name in names:
        theirs = outside.step(ref, name) if ref and name in workloads.SYNTHETIC else None
        if theirs is None:
            print(f"{name}: no hand-written numpy step to check against")
            continue
        ours, w0 = workloads.build(name), workloads.inputs(name)[1]
        a, b = ours(), theirs()
        wa, wb = ours.weights(), theirs.get_weights()
        err = max(float(np.abs(wa[k] - wb[k]).max() / max(np.abs(wb[k] - w0[k]).max(), 1e-30)) for k in wb)
        ok = abs(a - b) <= 1e-5 * max(1.0, abs(b)) and err <= 1e-3
        bad += not ok
        print(
            f"{name}: loss {a:.7g} ours, {b:.7g} numpy; largest update difference {err:.1e}: {'ok' if ok else 'DIFFER'}"
        )
    return 1 if bad else 0


def build_steps(name, peers, data_dir):
    """{"ours": step, peer: step, ...} for one workload."""
    import outside
    import workloads

    steps = {"ours": workloads.build(name, data_dir=data_dir)}
    for label, mod in peers.items():
        step = outside.step(mod, name) if name in workloads.SYNTHETIC else None
        if step is not None:
            steps[label] = step
    return steps


def time_rounds(steps, rounds, settle_s, clock):
    """{label: [seconds per step]} over `rounds` rounds, the order rotating from round to round."""
    import time

    inner = {k: timing.inner_steps(timing.warm_up(s)) for k, s in steps.items()}
    labels = list(steps)
    out = {k: [] for k in labels}
    for r in range(rounds):
        for k in labels[r % len(labels) :] + labels[: r % len(labels)]:
            time.sleep(settle_s)
            wall, cpu = timing.sample(steps[k], inner[k])
            out[k].append(cpu if clock == "cpu" else wall)
    return out


def what(name):
    """The workload's sizes, short."""
    import workloads

    p = workloads.SIZES[name]
    skip = ("lr", "seed", "task", "max_norm", "x", "w", "b", "eps")
    sizes = ", ".join(f"{k}={v}" for k, v in p.items() if k not in skip)
    return f"{p['task']}, {sizes}" if "task" in p else sizes


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="run.py",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    ap.add_argument("--workloads", nargs="+", metavar="NAME", help="default: all (workloads.NAMES)")
    ap.add_argument("--rounds", type=int, default=9, help="samples per workload (default 9)")
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1, as `tinygrad-attn train`)")
    ap.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        help="process CPU time (default with one thread: blind to waits on a busy machine) or wall time (default else)",
    )
    ap.add_argument("--settle-ms", type=float, default=30.0, help="pause before each sample (thread pools park)")
    ap.add_argument("--peers", nargs="+", default=[], metavar="NAME", help="reference adapters: numpy torch micrograd")
    ap.add_argument("--check", action="store_true", help="check one step against the hand-written numpy, no timing")
    ap.add_argument("--data-dir", help="folder of the book's addition.txt and date.txt (else book:<task>)")
    args = ap.parse_args(argv)
    if args.rounds < 1 or args.threads < 1:
        ap.error("--rounds and --threads must be at least 1")
    args.clock = args.clock or ("cpu" if args.threads == 1 else "wall")
    timing.set_threads(args.threads)  # before numpy loads BLAS
    sys.path.insert(1, ROOT)  # this tree's engine
    import workloads

    unknown = sorted(set(args.workloads or ()) - set(workloads.NAMES))
    if unknown:
        ap.error(f"no workload {', '.join(unknown)}; they are {', '.join(workloads.NAMES)}")
    args.workloads = args.workloads or list(workloads.NAMES)
    return args


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--reference"]:
        return reference(argv[1:])
    args = parse_args(argv)
    if args.check:
        return check(args.workloads, args.threads)
    import outside

    import tinygrad_attn

    peers = {p: m for p in args.peers if (m := outside.adapter(p, args.threads)) is not None}
    head = ["workload", "sizes", "ms/step", "IQR"]
    for p in peers:
        head += [f"{p} ms/step", f"ours / {p}"]
    print(f"tinygrad_attn {tinygrad_attn.__version__} ({os.path.dirname(tinygrad_attn.__file__)})")
    print(f"{args.rounds} rounds, {args.threads} BLAS thread(s), {args.clock} time, {timing.machine_load()}\n")
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head), flush=True)
    status = 0
    for name in args.workloads:
        try:
            steps = build_steps(name, peers, args.data_dir)
        except FileNotFoundError as e:  # the book's data: say where it was looked for, time the rest
            print(f"| {name} | {what(name)} | – | {e} |" + " – |" * (len(head) - 4), flush=True)
            status = 1
            continue
        gc.collect()
        gc.freeze()  # collections do not walk the other steps' objects
        samples = time_rounds(steps, args.rounds, args.settle_ms / 1e3, args.clock)
        gc.unfreeze()
        q1, med, q3 = timing.quartiles(samples["ours"])
        cells = [name, what(name), timing.fmt_ms(med), f"{timing.fmt_ms(q1)}-{timing.fmt_ms(q3)}"]
        for p in peers:
            if p not in samples:
                cells += ["–", "–"]
                continue
            r = timing.quartiles(timing.paired_ratios(samples["ours"], samples[p]))
            cells += [timing.fmt_ms(timing.quartiles(samples[p])[1]), f"{r[1]:.3g} ({r[0]:.3g}-{r[2]:.3g})"]
        print("| " + " | ".join(cells) + " |", flush=True)
        del steps, samples
    return status


if __name__ == "__main__":
    sys.exit(main())
