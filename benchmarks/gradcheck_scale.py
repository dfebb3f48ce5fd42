"""Gradient checks at scale: ours against torch.autograd.gradcheck (fast and slow mode), pass and fail.

    python benchmarks/gradcheck_scale.py                 # the table (markdown) for docs/checking.md
    python benchmarks/gradcheck_scale.py --alarms 3000   # the false-alarm sweep: thousands of correct graphs

The function is the issue's, tanh(x @ W) with x (16, a) and W (a, b), checked with respect to both
x and W; "fail" is the same function with W's gradient 1 % off at the element (7, 9) (a custom op
in each framework). Sizes count the elements of W (10^3 .. 10^6). Every time is the best of
--repeat runs at --threads BLAS / torch threads (1 by default: the machine is shared, and spinning
thread pools make single runs meaningless).

PyTorch is optional: without it the torch columns say so. Its slow mode builds the dense Jacobian
(n x m float64), its fast mode rebuilds it to report a failure; a run needing more than --memory GB
for it is not started (the table says so) and a run longer than --budget seconds is stopped.
"""

from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def _threads(argv):
    """Set the BLAS thread count before numpy is imported."""
    n = "1"
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            n = argv[i + 1]
        elif a.startswith("--threads="):
            n = a.split("=", 1)[1]
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = n
    return int(n)


THREADS = _threads(sys.argv[1:])

import multiprocessing as mp  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(HERE))

import tinygrad_attn as ta  # noqa: E402
from tinygrad_attn.testing import GradcheckError, gradcheck  # noqa: E402
from tinygrad_attn.testing.broken import SpoiledMatMul  # noqa: E402

WHERE = (7, 9)
FACTOR = [1.01]  # W's gradient at WHERE is multiplied by this in the failing runs (--factor)
SHAPES = {10**3: (32, 32), 10**4: (100, 100), 10**5: (316, 316), 10**6: (1024, 1024)}


def _inputs(n, seed=0):
    a, b = SHAPES[n]
    rng = np.random.default_rng(seed)
    return rng.standard_normal((16, a)), rng.standard_normal((a, b)) / np.sqrt(a)


def _best(fn, repeat):
    """(best seconds, what fn returned the last time)."""
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


# ---- ours -------------------------------------------------------------------------------------


def ours(n, fail, full=False):
    """(verdict, names): 'pass' / 'fail' and what the error names."""
    x, W = _inputs(n)
    if fail:
        fn = lambda s, t: SpoiledMatMul.apply(s, t, where=WHERE, factor=FACTOR[0]).tanh()  # noqa: E731
    else:
        fn = lambda s, t: (s @ t).tanh()  # noqa: E731
    try:
        gradcheck(fn, x, W, full=full)
        return "pass", ""
    except GradcheckError as e:
        hit = e.argument == 1 and e.element == WHERE
        return "fail", f"W{list(e.element)} and {e.op}" if hit and e.op else f"element {e.element}, op {e.op}"


# ---- torch ------------------------------------------------------------------------------------


def _torch():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(THREADS)
    return torch


def torch_check(n, fail, fast, report=True):
    """(verdict, names) of torch.autograd.gradcheck on the same function and inputs.

    report=False: fast mode without its dense re-run on failure (the detection alone).
    """
    import importlib

    torch = _torch()
    tg = importlib.import_module("torch.autograd.gradcheck")  # the module (torch.autograd.gradcheck is also a function)

    class SpoiledMM(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a @ b

        @staticmethod
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            db = a.T @ g
            db[WHERE] *= FACTOR[0]
            return g @ b.T, db

    x, W = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in _inputs(n))
    fn = (lambda s, t: SpoiledMM.apply(s, t).tanh()) if fail else (lambda s, t: (s @ t).tanh())
    if not report:
        tg._run_slow_mode_and_get_error = lambda *a, **k: " (dense report skipped)"
    try:
        torch.autograd.gradcheck(fn, (x, W), fast_mode=fast)
        return "pass", ""
    except tg.GradcheckError as e:
        text = str(e)
        named = "input 1" if "with respect to input 1" in text else "an input"
        return "fail", f"{named}, whole Jacobians printed" if report else f"{named} (no element)"


def _run(queue, what, args):
    if what is torch_check:
        what(10**3, False, args[2])  # warm up (torch's first call in a process pays for its start-up)
    t = time.perf_counter()
    out = what(*args)
    queue.put((time.perf_counter() - t, out))


def isolated(what, args, budget):
    """Run what(*args) in a child process: (seconds or None, result or the reason it did not finish)."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    p = ctx.Process(target=_run, args=(queue, what, args))
    p.start()
    p.join(budget)
    if p.is_alive():
        p.kill()
        p.join()
        return None, f"stopped after {budget:.0f} s"
    if p.exitcode != 0:
        return None, f"crashed (exit {p.exitcode})"
    return queue.get()  # timed inside the child: no fork or start-up in it


def _dense_gb(n):
    a, b = SHAPES[n]
    inputs, outputs = 16 * a + a * b, 16 * b
    return inputs * outputs * 8 / 1e9


def _cell(seconds, result):
    if seconds is None:
        return result
    verdict, names = result
    return f"{seconds:.2g} s {verdict}" + (f" ({names})" if names else "")


def table(sizes, repeat, budget, memory):
    torch = _torch()
    off = f"{abs(FACTOR[0] - 1):.0%} off"
    rows = [
        f"| W elements | ours | ours, {off} at W[7, 9] | ours full=True | torch fast | torch fast, {off} | torch slow"
        f" | torch slow, {off} |",
        "|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(rows), flush=True)
    for n in sizes:
        cells = []
        for fail in (False, True):
            sec, res = _best(lambda n=n, fail=fail: ours(n, fail), repeat)
            cells.append(_cell(sec, res))
        cells.append(_cell(*isolated(ours, (n, False, True), budget)))
        if torch is None:
            cells += ["torch not installed"] * 4
        else:
            gb = _dense_gb(n)
            runs = [isolated(torch_check, (n, False, True), budget) for _ in range(repeat)]
            cells.append(_cell(*min(runs, key=lambda r: np.inf if r[0] is None else r[0])))
            if gb <= memory:
                res = isolated(torch_check, (n, True, True), budget)
                cells.append(_cell(*res))
            else:
                res = isolated(torch_check, (n, True, True, False), budget)
                cells.append(_cell(*res) + f"; its report needs the dense Jacobian ({gb:.0f} GB): not run")
            for fail in (False, True):
                if gb > memory:
                    cells.append(f"not run: the dense Jacobian is {gb:.1f} GB")
                    continue
                res = isolated(torch_check, (n, fail, False), budget)
                cells.append(_cell(*res))
        rows.append(f"| {n:,} | " + " | ".join(cells) + " |")
        print(rows[-1], flush=True)
    return rows


# ---- the resolution: the smallest error of one element that the check sees ---------------------


def resolution(sizes):
    """Per size: the rounds' tolerance, the gradient's typical element, the smallest error caught (miss < 1e-6)."""
    import importlib

    from tinygrad_attn.testing import directional

    gc = importlib.import_module("tinygrad_attn.testing.gradcheck")
    c = 1.6 * 1e6 ** (1 / 4)  # (1.6 / c)^4 = 1e-6: four rounds miss together once in a million
    rows = [
        "| W elements | tolerance tau (largest of 4 rounds) | typical element of W's gradient (rms) | step h"
        " | one element caught unless (1e-6) below |",
        "|---|---|---|---|---|",
    ]
    print("\n".join(rows))
    for n in sizes:
        x, W = _inputs(n)
        xs = gc.as_inputs([x, W])
        with ta.no_grad():
            ys = gc.flatten_outputs((xs[0] @ xs[1]).tanh())
        subject, _ = gc._subject(lambda s, t: (s @ t).tanh(), xs, ys, None, np.float64, True)
        scr = directional.screen(subject)
        tau = max(r.base.tau for r in scr.rounds)
        rms = max(float(np.sqrt(np.mean(r.w[1] ** 2))) for r in scr.rounds)
        h = float(subject.targets[1].step.max())
        smallest = c * tau / h
        rows.append(f"| {n:,} | {tau:.2g} | {rms:.3g} | {h:.2g} | {smallest:.2g} ({smallest / rms:.2g} of the rms) |")
        print(rows[-1], flush=True)
    return rows


# ---- the false-alarm sweep ---------------------------------------------------------------------


def alarms(examples, seeds):
    """Correct op graphs (first and second order, with kinks, every node), the models and layers: no alarm."""
    from hypothesis import HealthCheck, given, settings

    from tinygrad_attn.testing import check_graph, directional, vjp_check
    from tinygrad_attn.testing import strategies as tst

    worst, counts, failures = [0.0], {}, []
    screen = directional.screen

    def recording(subject, *args, **kwargs):
        scr = screen(subject, *args, **kwargs)
        for r in scr.rounds:
            b = r.base
            worst[0] = max(worst[0], abs(b.E) / (b.tau + b.slack))
            if r.w1 is not None:
                worst[0] = max(worst[0], abs(r.shifted) / r.shifted_tau)
        return scr

    directional.screen = recording
    many = settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))

    def run(name, check):
        try:
            check()
            counts[name] = counts.get(name, 0) + 1
        except GradcheckError as e:
            failures.append(f"{name}: {str(e).splitlines()[0][:200]}")

    @many
    @given(tst.graph_cases(ops=tst.SMOOTH_OPS, max_depth=4))
    def smooth(case):
        g, xs = case
        run(
            "smooth graphs, gradcheck + vjp_check order 2",
            lambda: gradcheck(g, *xs, dense_up_to=0) and vjp_check(g, *xs, order=2, dense_up_to=0),
        )

    @many
    @given(tst.graph_cases(max_depth=4))
    def kinks(case):
        g, xs = case
        run("graphs with kinks (kept 1e-3 away), gradcheck", lambda: gradcheck(g, *xs, dense_up_to=0))

    @many
    @given(tst.graph_cases(ops=tst.SMOOTH_OPS, max_depth=3))
    def nodes(case):
        g, xs = case
        y = g(*[ta.Tensor(x, requires_grad=True) for x in xs])
        if y.requires_grad:
            report = check_graph(y)
            counts["every node of smooth graphs, check_graph"] = (
                counts.get("every node of smooth graphs, check_graph", 0) + 1
            )
            if not report.ok:
                failures.append(str(report)[:200])

    t = time.perf_counter()
    for f in (smooth, kinks, nodes):
        f()
    _models(seeds, run)
    directional.screen = screen
    print(f"{time.perf_counter() - t:.0f} s; {sum(counts.values())} checks; {len(failures)} failed")
    for k, v in counts.items():
        print(f"  {v:6d}  {k}")
    print(f"  the largest |E| / tolerance of any direction: {worst[0]:.3g} (1 would be an alarm)")
    for f in failures[:10]:
        print("  FAILED", f)
    return not failures


def _models(seeds, run):
    import importlib.util

    from tinygrad_attn import functional as F
    from tinygrad_attn import nn
    from tinygrad_attn.testing import check_layer, vjp_check

    spec = importlib.util.spec_from_file_location(
        "ex", os.path.join(HERE, "..", "examples", "check_handwritten_layers.py")
    )
    ex = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ex)
    V = 6
    makers = {
        "Seq2Seq lstm": lambda: nn.Seq2Seq(V, 3, 4, cell="lstm"),
        "Seq2Seq gru peeky": lambda: nn.Seq2Seq(V, 3, 4, cell="gru", peeky=True),
        "AttentionSeq2Seq dot": lambda: nn.AttentionSeq2Seq(V, 3, 4, score="dot"),
        "AttentionSeq2Seq concat": lambda: nn.AttentionSeq2Seq(V, 3, 4, score="concat"),
        "Transformer pre-norm": lambda: nn.Transformer(
            V, d_model=4, n_heads=2, n_layers=1, d_ff=6, max_len=5, norm_first=True
        ),
        "Transformer post-norm, 2 layers": lambda: nn.Transformer(
            V, d_model=8, n_heads=2, n_layers=2, d_ff=12, max_len=5
        ),
    }
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        ta.seed(seed)
        for make in makers.values():
            m = make().to(np.float64)
            params = list(m.named_parameters())
            src, tgt = rng.integers(0, V, (2, 4)), rng.integers(0, V, (2, 4))

            def loss(*ps, m=m, params=params, src=src, tgt=tgt):
                for (pname, _), p in zip(params, ps):
                    *path, leaf = pname.split(".")
                    mod = m
                    for part in path:
                        mod = mod._modules[part]
                    setattr(mod, leaf, p)
                return F.cross_entropy(m(src, tgt[:, :-1]), tgt[:, 1:])

            run(
                f"models ({len(makers)} kinds), all parameters",
                lambda loss=loss, params=params: gradcheck(loss, *[p.data for _, p in params], dense_up_to=0),
            )
        N, T, D, H = (int(k) for k in rng.integers(1, 9, 4))
        x, h, hs = rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, T, H))
        for dt in (np.float64, np.float32):
            cell = ex.RNNCell(*[(rng.standard_normal(s) * 0.5).astype(dt) for s in [(D, H), (H, H), (H,)]])
            name = "the example's layers (Affine, RNNCell, Attention), float64 and float32"
            x_, h_, hs_ = x.astype(dt), h.astype(dt), hs.astype(dt)
            run(name, lambda cell=cell, x_=x_, h_=h_: check_layer(cell, x_, h_, dense_up_to=0))
            run(name, lambda hs_=hs_, h_=h_: check_layer(ex.Attention(), hs_, h_, dense_up_to=0))
            affine = ex.Affine(rng.standard_normal((D, H)).astype(dt), rng.standard_normal(H).astype(dt))
            run(name, lambda affine=affine, x_=x_: check_layer(affine, x_, dense_up_to=0))
        n = int(10 ** rng.uniform(2, 4))
        xs, Wm = rng.standard_normal((8, n // 8 + 1)), rng.standard_normal((n // 8 + 1, 16)) / np.sqrt(n / 8)
        for fn in (
            lambda a, b: (a @ b).tanh(),
            lambda a, b: F.layer_norm(a @ b, eps=1e-5).exp().sum(),
            lambda a, b: (a @ b).softmax(-1),
            lambda a, b: F.cross_entropy(a @ b, np.arange(8) % 16),
        ):
            run("functions of 10^2..10^4 inputs, first and second order",
                lambda fn=fn, xs=xs, Wm=Wm: gradcheck(fn, xs, Wm) and vjp_check(fn, xs, Wm, order=2))  # fmt: skip


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000,1000000", help="elements of W, comma separated")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--budget", type=float, default=120.0, help="seconds allowed to one torch run")
    ap.add_argument("--memory", type=float, default=1.0, help="GB allowed to torch's dense Jacobian")
    ap.add_argument(
        "--factor", type=float, default=1.01, help="the failing runs multiply W's gradient at [7, 9] by this"
    )
    ap.add_argument("--alarms", type=int, default=0, metavar="N", help="run the false-alarm sweep, N examples per kind")
    ap.add_argument("--seeds", type=int, default=100, help="--alarms: seeds of models and layers")
    ap.add_argument("--resolution", action="store_true", help="the smallest error of one element caught, per size")
    args = ap.parse_args(argv)
    FACTOR[0] = args.factor
    if args.alarms:
        return 0 if alarms(args.alarms, args.seeds) else 1
    if args.resolution:
        resolution([int(s) for s in args.sizes.split(",")])
        return 0
    if _torch() is None:
        print("PyTorch is not installed: its columns are skipped (pip install torch to compare)", file=sys.stderr)
    print(
        f"threads {THREADS}; best of {args.repeat}; failing runs: W's gradient at {list(WHERE)} times {args.factor:g}"
    )
    table([int(s) for s in args.sizes.split(",")], args.repeat, args.budget, args.memory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
