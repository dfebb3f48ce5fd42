"""Is this work tree slower than a git ref? Paired timing of both engines on the bench's workloads.

    python benchmarks/compare.py                  # the work tree against HEAD~1
    python benchmarks/compare.py main --workloads rnn_mid seq2seq
    python benchmarks/compare.py 1a2b3c4 --rounds 40 --threads 2
    python benchmarks/compare.py 1a2b3c4 --new 5d6e7f8   # two commits

REF (and --new) is checked out into a temporary git worktree, or may be a folder holding another
checkout. Each engine runs in a process of its own (benchmarks/worker.py: this tree's workloads on
that tree's tinygrad_attn). Both build every workload and warm up, then take turns: in each
round every workload is sampled once by each engine, the one going first alternating from
workload to workload and round to round, with a pause before each sample. A sample runs the
same number of steps in both, at least 50 ms, after a collection and an untimed step (timing.py).

The rounds are split over --sessions, each with a fresh pair of processes: where a process's
arrays and objects land in memory moves its speed by a few per cent for its whole life (the same
tree against itself, one pair of processes: medians of 0.97 to 1.04 on a busy 2-core machine),
so one pair alone cannot tell 3 % apart. Each session takes rounds for --budget-s / --sessions
seconds (from --min-rounds to --max-rounds in all).

Per workload the table gives both medians in ms per step; the median over all rounds of the
ratio new / old of the round's two samples, with its interquartile range; the range of the
sessions' medians; and a 95 % confidence interval of the ratio from the sessions' medians
(Student's t; with one session, from the order statistics of its rounds). Verdict: "slower"
when the median ratio is above --limit (exit status 1), "unsure" when only the interval reaches
above it (take more --sessions), else "ok". With one BLAS thread the times are each process's
CPU time, blind to the waits of a busy machine (--clock wall for the other). The first losses of
the two engines are compared too: a workload whose loss differs is marked, as the two trees then
do not compute the same step.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import timing
import workloads

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SLOWER = "**slower**"


def git(*args, cwd=ROOT) -> str:
    """Output of a git command in this repository, or exit naming the command that failed."""
    r = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"compare: git {' '.join(args)}: {r.stderr.strip() or 'failed'}")
    return r.stdout.strip()


def describe_tree(path) -> str:
    """`abc1234 subject` of a checkout's HEAD, '+ uncommitted changes' when its package has edits."""
    r = subprocess.run(["git", "log", "-1", "--format=%h %s"], cwd=path, capture_output=True, text=True)
    if r.returncode:
        return str(path)
    line = r.stdout.strip()
    line = line if len(line) <= 80 else line[:77] + "..."
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "tinygrad_attn"], cwd=path, capture_output=True)
    return line + (" + uncommitted changes" if dirty.stdout.strip() else "")


class Worker:
    """A worker.py process whose tinygrad_attn comes from `tree`; `ready()` waits for its report."""

    def __init__(self, label, tree, names, args, book):
        env = timing.set_threads(args.threads, dict(os.environ, PYTHONPATH=tree))
        cmd = [sys.executable, os.path.join(HERE, "worker.py"), "--workloads", *names, "--book", book]
        if args.data_dir:
            cmd += ["--data-dir", os.path.abspath(args.data_dir)]
        cmd += ["--min-sample-ms", str(args.min_sample_ms)]
        self.label, self.tree, self.report = label, tree, None
        self.proc = subprocess.Popen(
            cmd, env=env, cwd=os.path.dirname(book), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def ready(self):
        """Wait for the worker's report; check that it imported the engine of its tree."""
        self.report = json.loads(self._line())
        engine = os.path.realpath(self.report["engine"])
        if not engine.startswith(os.path.realpath(self.tree) + os.sep):
            sys.exit(f"compare: the {self.label} worker imported {engine}, not the one in {self.tree}")
        return self

    def _line(self) -> str:
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            sys.exit(f"compare: the {self.label} worker ({self.tree}) stopped with status {code}; see above")
        return line

    def sample(self, name, inner) -> tuple[float, float]:
        """(wall, cpu) seconds per step of one sample of `inner` steps of workload `name`."""
        self.proc.stdin.write(f"{name} {inner}\n")
        self.proc.stdin.flush()
        wall, cpu = self._line().split()
        return float(wall), float(cpu)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("\n")
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def checkout(ref, path, made):
    """(folder, description) of `ref`: a folder holding a checkout as it is, or a commit checked out
    into a temporary git worktree at `path` (appended to `made`, to be removed)."""
    if os.path.isdir(os.path.join(ref, "tinygrad_attn")):
        return os.path.abspath(ref), f"{describe_tree(ref)} (folder {ref})"
    sha = git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    git("worktree", "add", "--detach", "--quiet", path, sha)
    made.append(path)
    return path, describe_tree(path)


def plan(pair, names, args):
    """(steps per sample, the same in both engines; least and most rounds per session)."""
    inner = {n: max(w.report["inner"][n] for w in pair) for n in names}
    if args.rounds:
        return inner, math.ceil(args.rounds / args.sessions), math.ceil(args.rounds / args.sessions)
    return inner, math.ceil(args.min_rounds / args.sessions), math.ceil(args.max_rounds / args.sessions)


def run_rounds(pair, names, inner, rounds, seconds, first_round, settle_s, progress):
    """{workload: {"new": {"wall": [s], "cpu": [s]}, "old": ...}}: rounds taken in turns, as many as
    fit in `seconds` within `rounds` (least, most); round numbers go on from `first_round`."""
    samples = {n: {w.label: {"wall": [], "cpu": []} for w in pair} for n in names}
    least, most = rounds
    end = time.perf_counter() + seconds
    for r in range(first_round, first_round + most):
        if r - first_round >= least and time.perf_counter() > end:
            break
        for i, name in enumerate(names):
            for w in pair if (r + i) % 2 == 0 else pair[::-1]:
                time.sleep(settle_s)
                wall, cpu = w.sample(name, inner[name])
                samples[name][w.label]["wall"].append(wall)
                samples[name][w.label]["cpu"].append(cpu)
        progress(r + 1)
    return samples


def summary(sessions, name, clock, limit):
    """Ratio statistics of one workload over the sessions: a dict with the table's figures."""
    per_session = [timing.paired_ratios(s[name]["new"][clock], s[name]["old"][clock]) for s in sessions]
    ratios = [r for rs in per_session for r in rs]
    medians = [statistics.median(rs) for rs in per_session]
    q1, median, q3 = timing.quartiles(ratios)
    ci = timing.mean_interval(medians) if len(medians) > 1 else timing.median_interval(ratios)
    word = SLOWER if median > limit else "unsure" if ci[1] > limit else "ok"
    return {
        "old_ms": 1e3 * statistics.median(x for s in sessions for x in s[name]["old"][clock]),
        "new_ms": 1e3 * statistics.median(x for s in sessions for x in s[name]["new"][clock]),
        "ratio": median,
        "iqr": (q1, q3),
        "sessions": (min(medians), max(medians)),
        "ci": ci,
        "verdict": word,
    }


def table(rows, losses) -> str:
    """The markdown table of `summary` rows; `losses` {name: (new, old)} marks steps that differ."""
    out = [
        "| workload | old ms/step | new ms/step | new / old | IQR | sessions | 95 % CI | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, s in rows.items():
        word = s["verdict"]
        a, b = losses[name]
        if abs(a - b) > 1e-4 * max(1.0, abs(b)):
            word += f" (first loss {a:.6g} new, {b:.6g} old: not the same step)"
        out.append(
            f"| {name} | {timing.fmt_ms(s['old_ms'] / 1e3)} | {timing.fmt_ms(s['new_ms'] / 1e3)} | {s['ratio']:.3f} | "
            f"{s['iqr'][0]:.3f}-{s['iqr'][1]:.3f} | {s['sessions'][0]:.3f}-{s['sessions'][1]:.3f} | "
            f"{s['ci'][0]:.3f}-{s['ci'][1]:.3f} | {word} |"
        )
    return "\n".join(out)


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="compare.py",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    ap.add_argument("ref", nargs="?", default="HEAD~1", help="git ref, or a folder with a checkout (default HEAD~1)")
    ap.add_argument("--new", metavar="REF", help="compare this ref (or folder) instead of the work tree")
    ap.add_argument("--workloads", nargs="+", choices=workloads.NAMES, default=list(workloads.NAMES))
    ap.add_argument("--rounds", type=int, help="rounds in all (default: as many as fit in --budget-s)")
    ap.add_argument("--sessions", type=int, default=4, help="fresh pairs of processes the rounds are split over")
    ap.add_argument("--budget-s", type=float, default=100.0, help="seconds of rounds in all, unless --rounds is given")
    ap.add_argument("--min-rounds", type=int, default=12, help="rounds in all even over the budget (default 12)")
    ap.add_argument("--max-rounds", type=int, default=80, help="rounds in all at most (default 80)")
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads per engine (default 1)")
    ap.add_argument("--clock", choices=("cpu", "wall"), help="default: cpu with one thread, else wall")
    ap.add_argument("--limit", type=float, default=1.03, help="slowest ratio new / old accepted (default 1.03)")
    ap.add_argument("--min-sample-ms", type=float, default=timing.MIN_SAMPLE_S * 1e3)
    ap.add_argument("--settle-ms", type=float, default=30.0, help="pause before each sample (thread pools park)")
    ap.add_argument("--data-dir", help="folder of the book's addition.txt and date.txt (else book:<task>)")
    ap.add_argument("--json", metavar="FILE", help="also write every sample as JSON")
    args = ap.parse_args(argv)
    for flag in ("rounds", "sessions", "threads"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            ap.error(f"--{flag} must be at least 1, got {value}")
    args.clock = args.clock or ("cpu" if args.threads == 1 else "wall")
    return args


def start_pair(session, trees, names, args, book):
    """[new, old] workers, ready. The one started first alternates; in the first session it is the
    new tree's, alone, as it writes `book` (the book's batches) for the other to read."""
    first, second = ("new", "old") if session % 2 == 0 else ("old", "new")
    pair = [Worker(first, trees[first], names, args, book)]
    if session == 0:
        pair[0].ready()
    pair.append(Worker(second, trees[second], names, args, book))
    for w in pair:
        if w.report is None:
            w.ready()
    return sorted(pair, key=lambda w: w.label)


def runnable(pair, names):
    """(the workloads that built in both workers, a note for each one left out)."""
    keep, notes = [], []
    for n in names:
        errors = [f"{w.label}: {w.report['error'][n]}" for w in pair if n in w.report["error"]]
        if errors:
            notes.append(f"{n} left out ({'; '.join(errors)})")
        else:
            keep.append(n)
    return keep, notes


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    started = time.perf_counter()
    tmp = tempfile.mkdtemp(prefix="tinygrad_attn_compare_")
    pair, sessions, made, done = [], [], [], 0
    tty = sys.stderr.isatty()
    try:
        old, old_desc = checkout(args.ref, os.path.join(tmp, "old"), made)
        new, new_desc = (
            (ROOT, describe_tree(ROOT)) if args.new is None else checkout(args.new, os.path.join(tmp, "new"), made)
        )
        trees, names = {"new": new, "old": old}, list(args.workloads)
        for s in range(args.sessions):
            pair = start_pair(s, trees, names, args, os.path.join(tmp, "book.npz"))
            if s == 0:
                losses = {n: (pair[0].report["loss"].get(n), pair[1].report["loss"].get(n)) for n in names}
                names, notes = runnable(pair, names)
                if not names:
                    sys.exit("compare: no workload runs on both trees:\n" + "\n".join(notes))
                inner, least, most = plan(pair, names, args)

            def progress(r, s=s):
                if tty:
                    print(f"\rcompare: session {s + 1}/{args.sessions}, round {r}  ", end="", file=sys.stderr)

            seconds = args.budget_s / args.sessions
            sessions.append(
                run_rounds(pair, names, inner, (least, most), seconds, done, args.settle_ms / 1e3, progress)
            )
            done += len(sessions[-1][names[0]]["new"]["cpu"])
            for w in pair:
                w.close()
        if tty:
            print(file=sys.stderr)
    finally:
        for w in pair:
            w.close()
        for path in made:
            subprocess.run(["git", "worktree", "remove", "--force", path], cwd=ROOT, capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    rows = {n: summary(sessions, n, args.clock, args.limit) for n in names}
    print(f"new: {new_desc}\nold: {old_desc}")
    print(
        f"{len(sessions)} sessions, {done} paired rounds in all, {args.threads} BLAS thread(s), {args.clock} time, "
        f"{timing.machine_load()}, {time.perf_counter() - started:.0f} s in all; limit {args.limit}\n"
    )
    print(table(rows, losses))
    for note in notes:
        print(f"\n{note}")
    if args.json:
        with open(args.json + ".tmp", "w") as f:
            json.dump({"args": vars(args), "inner": inner, "summary": rows, "sessions": sessions}, f, indent=1)
        os.replace(args.json + ".tmp", args.json)
    return 1 if any(r["verdict"] == SLOWER for r in rows.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
