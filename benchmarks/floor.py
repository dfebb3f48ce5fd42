"""How fast can an op-level engine on numpy be? A measuring stick for the bench's targets.

`../shared/bench` times tinygrad_attn against hand-written numpy, which fuses passes, writes
into preallocated buffers and computes each derivative factor once for all time steps. An
engine that records one node per op cannot do any of that. This script asks how much of the
gap is ours and how much belongs to every op-level engine: it builds the bench's graphs
(the same ops, in the same order, as the bench's tinygrad_attn adapter) on a deliberately
minimal engine -- a tape of closures, micrograd's design on numpy arrays, with no checks, no
version counters, no scopes, no hooks and no records -- and times it in one process, paired
round by round, against the hand-written numpy, PyTorch and micrograd (when installed) and
tinygrad_attn itself.

Before timing, every workload is checked: the minimal engine and tinygrad_attn start from the
bench's weights and must give the same losses and weights after three steps.

    python benchmarks/floor.py [--threads 2] [--rounds 41] [--workloads ...]

The harness is found as `benchmarks/run.py` finds it (TINYGRAD_ATTN_BENCH, or shared/bench
next to the repository); `make bench` installs the peers.

Each ratio is the median over rounds of (time of one / time of the other in the same round),
with the interquartile range, as `run.py` computes its ratios.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import math
import os
import statistics
import sys
import time

WORKLOADS = ("scalar_chain", "rnn_tiny", "rnn_mid", "transformer_layer")
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


# ---- the minimal engine: a tape of closures --------------------------------------------------
class Node:
    """A value, its gradient so far, and the closure that hands the gradient to the inputs."""

    __slots__ = ("data", "grad", "back")

    def __init__(self, data, back=None):
        self.data, self.grad, self.back = data, None, back


class Tape:
    """Nodes in creation order; backward walks them newest first."""

    def __init__(self):
        self.nodes = []
        self.deferred = {}  # weight -> [(a, g)]: a^T g summed by one GEMM at the end, as ours does

    def node(self, data, back):
        n = Node(data, back)
        self.nodes.append(n)
        return n

    def backward(self, root, np):
        from tinygrad_attn.arrays import weight_grad  # the same sum of a^T g as ours

        root.grad = np.ones_like(root.data)
        for n in reversed(self.nodes):
            if n.grad is not None:
                n.back(n.grad)
        self.nodes.clear()
        for w, pairs in self.deferred.items():
            acc(w, weight_grad(pairs))
        self.deferred.clear()


def acc(p, g):
    p.grad = g if p.grad is None else p.grad + g


def make_ops(np, tape):
    """The ops of the bench's graphs, each a forward and a closure for its backward."""
    from tinygrad_attn.arrays import add_at, fast_sum, sum_to  # the same array helpers ours uses

    node = tape.node

    def matmul(a, b):
        x, w = a.data, b.data
        if w.ndim == 2:  # (..., k) @ (k, n) as one GEMM; the weight's gradient is deferred
            out = (x.reshape(-1, x.shape[-1]) @ w).reshape(x.shape[:-1] + (w.shape[1],))

            def back(g):
                acc(a, (g.reshape(-1, g.shape[-1]) @ w.T).reshape(x.shape))
                tape.deferred.setdefault(b, []).append((x, g))

        else:
            out = x @ w

            def back(g):
                acc(a, g @ w.swapaxes(-1, -2))
                acc(b, x.swapaxes(-1, -2) @ g)

        return node(out, back)

    def binary(op, da, db):
        def f(a, b):
            x, y = a.data, b.data
            out = op(x, y)

            def back(g):
                acc(a, sum_to(da(g, x, y, out), np.shape(x)))
                if b.back is not None or b.grad is not None or b in params:
                    acc(b, sum_to(db(g, x, y, out), np.shape(y)))

            return node(out, back)

        return f

    params = set()
    add = binary(np.add, lambda g, x, y, o: g, lambda g, x, y, o: g)
    sub = binary(np.subtract, lambda g, x, y, o: g, lambda g, x, y, o: -g)
    mul = binary(np.multiply, lambda g, x, y, o: g * y, lambda g, x, y, o: g * x)
    div = binary(np.divide, lambda g, x, y, o: g / y, lambda g, x, y, o: -(g / y) * o)

    def tanh(a):
        out = np.tanh(a.data)
        return node(out, lambda g: acc(a, g * (1 - out * out)))

    def sqrt(a):
        out = np.sqrt(a.data)
        return node(out, lambda g: acc(a, g * 0.5 / out))

    def relu(a):
        mask = a.data > 0
        return node(a.data * mask, lambda g: acc(a, g * mask))

    def reshape(a, shape):
        return node(a.data.reshape(shape), lambda g: acc(a, g.reshape(a.data.shape)))

    def transpose(a, axes):
        inverse = tuple(axes.index(i) for i in range(len(axes)))
        return node(a.data.transpose(axes), lambda g: acc(a, g.transpose(inverse)))

    def getitem(a, i):  # an int or an index array along axis 0
        def back(g):
            if a.grad is None:
                a.grad = np.zeros_like(a.data)
            add_at(a.grad, i, g)

        return node(a.data[i], back)

    def stack(xs):
        def back(g):
            for i, x in enumerate(xs):
                acc(x, g[i])

        return node(np.stack([x.data for x in xs]), back)

    def softmax(a):
        x = a.data
        e = x - x.max(axis=-1, keepdims=True)
        np.exp(e, out=e)
        e /= fast_sum(e, (e.ndim - 1,), True)

        def back(g):
            gy = g * e
            acc(a, gy - e * fast_sum(gy, (gy.ndim - 1,), True))

        return node(e, back)

    def mean(a, last_axis):
        x = a.data
        n = x.shape[-1] if last_axis else x.size
        s = fast_sum(x, (x.ndim - 1,), True) if last_axis else x.sum()
        out = np.asarray(s * x.dtype.type(1 / n))
        return node(out, lambda g: acc(a, np.broadcast_to(g * (1.0 / n), x.shape)))

    def cross_entropy(z, t):
        x = z.data
        s = x - x.max(axis=1, keepdims=True)
        s -= np.log(fast_sum(np.exp(s), (1,), True))
        rows = np.arange(len(t))
        out = np.asarray(-s[rows, t].mean())

        def back(g):
            d = np.exp(s)
            d[rows, t] -= 1
            d *= g / len(t)
            acc(z, d)

        return node(out, back)

    return dict(locals())


def floor_step(name, wp, init, np):
    """One SGD step of workload `name` on the minimal engine, as the bench adapters build it."""
    tape = Tape()
    o = make_ops(np, tape)
    P = {k: Node(np.array(v)) for k, v in init.items()}
    o["params"].update(P.values())
    lr = float(wp["lr"])

    if name == "scalar_chain":
        w, b, x = P["w"], P["b"], Node(np.array(float(wp["x"])))

        def forward():
            y = x
            for _ in range(int(wp["n_steps"])):
                y = o["tanh"](o["add"](o["mul"](w, y), b))
            return y

    elif name.startswith("rnn"):
        N, T, H = (int(wp[k]) for k in ("N", "T", "H"))
        xs_t = np.ascontiguousarray(wp["data"]["xs"].T)
        ts = np.ascontiguousarray(wp["data"]["ts"].T).reshape(-1)

        def forward():
            xw = o["add"](o["matmul"](o["getitem"](P["E"], xs_t), P["Wx"]), P["b"])
            h = o["tanh"](o["getitem"](xw, 0))
            hs = [h]
            for t in range(1, T):
                h = o["tanh"](o["add"](o["matmul"](h, P["Wh"]), o["getitem"](xw, t)))
                hs.append(h)
            flat = o["reshape"](o["stack"](hs), (T * N, H))
            return o["cross_entropy"](o["add"](o["matmul"](flat, P["Wo"]), P["bo"]), ts)

    elif name == "transformer_layer":
        N, T, d, h = (int(wp[k]) for k in ("N", "T", "d_model", "heads"))
        dk = d // h
        X, Y = Node(wp["data"]["X"]), Node(wp["data"]["Y"])
        scale = Node(np.asarray(1.0 / math.sqrt(dk), X.data.dtype))  # ours lifts a float to the tensor's dtype
        eps = Node(np.asarray(wp["eps"], X.data.dtype))
        add, sub, mul, div, mm = o["add"], o["sub"], o["mul"], o["div"], o["matmul"]

        def layer_norm(z, g, beta):
            zc = sub(z, o["mean"](z, True))
            var = o["mean"](mul(zc, zc), True)
            return add(mul(div(zc, o["sqrt"](add(var, eps))), g), beta)

        def forward():
            qkv = o["transpose"](o["reshape"](add(mm(X, P["Wqkv"]), P["bqkv"]), (N, T, 3, h, dk)), (2, 0, 3, 1, 4))
            q, k, v = (o["getitem"](qkv, i) for i in range(3))
            a = o["softmax"](mul(mm(q, o["transpose"](k, (0, 1, 3, 2))), scale))
            att = o["reshape"](o["transpose"](mm(a, v), (0, 2, 1, 3)), (N, T, d))
            x1 = layer_norm(add(add(X, mm(att, P["Wo"])), P["bo"]), P["g1"], P["be1"])
            ff = add(mm(o["relu"](add(mm(x1, P["W1"]), P["b1"])), P["W2"]), P["b2"])
            diff = sub(layer_norm(add(x1, ff), P["g2"], P["be2"]), Y)
            return o["mean"](mul(diff, diff), False)

    else:
        raise ValueError(f"floor: no minimal graph for workload {name!r}")

    def step():
        loss = forward()
        tape.backward(loss, np)
        for p in P.values():
            p.data -= lr * p.grad
            p.grad = None
        return float(loss.data)

    step.get_weights = lambda: {k: np.array(p.data) for k, p in P.items()}
    return step


# ---- timing -----------------------------------------------------------------------------------
def check_same_training(name, floor, ours, np):
    """Three steps each from the same weights: equal losses and weights (float32 tolerance)."""
    for i in range(3):
        a, b = floor(), ours()
        if not math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-7):
            raise SystemExit(f"floor: {name}: step {i} loss {a} (minimal engine) != {b} (tinygrad_attn)")
    wa, wb = floor.get_weights(), ours.get_weights()
    for k in wb:
        err = float(np.max(np.abs(wa[k] - wb[k]))) / max(1.0, float(np.max(np.abs(wb[k]))))
        if err > 1e-4:
            raise SystemExit(f"floor: {name}: weight {k} differs by {err:.2e} after three steps")


def time_paired(steps, rounds, min_sample_s=0.05, settle_s=0.05):
    """Per framework, the per-step time of each round, sampled as run.py samples: the order
    rotates round by round; before each sample a pause (other frameworks' spinning thread
    pools park), a collection and one untimed step; a sample lasts at least `min_sample_s`."""
    inner = {}
    for k, step in steps.items():
        t0 = time.perf_counter()
        step()
        inner[k] = max(1, math.ceil(min_sample_s / max(time.perf_counter() - t0, 1e-9)))
    names = list(steps)
    samples = {k: [] for k in names}
    for r in range(rounds):
        for k in names[r % len(names) :] + names[: r % len(names)]:
            time.sleep(settle_s)
            gc.collect()
            steps[k]()
            t0 = time.perf_counter()
            for _ in range(inner[k]):
                steps[k]()
            samples[k].append((time.perf_counter() - t0) / inner[k])
    return samples


def ratio(samples, a, b):
    """Median and quartiles over rounds of a's time / b's time."""
    r = sorted(x / y for x, y in zip(samples[a], samples[b]))
    q = statistics.quantiles(r, n=4)
    return f"{statistics.median(r):.2f} ({q[0]:.2f}-{q[2]:.2f})"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2, help="BLAS threads (and PyTorch's)")
    ap.add_argument("--rounds", type=int, default=41)
    ap.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=WORKLOADS)
    args = ap.parse_args(argv)
    for v in THREAD_VARS:  # before numpy loads BLAS
        os.environ[v] = str(args.threads)
    from run import harness  # benchmarks/run.py, next to this file

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path[:0] = [root, os.path.dirname(harness())]
    import numpy as np

    workloads = importlib.import_module("workloads")
    adapters = {"numpy": "numpy_ref", "torch": "torch_ref", "micrograd": "micrograd_ref", "ours": "tinygrad_attn_ref"}
    mods = {}
    for short, mod in adapters.items():
        try:
            mods[short] = importlib.import_module("adapters." + mod)
        except ImportError as e:
            print(f"({short}: not installed, left out: {e})")
            continue
        if hasattr(mods[short], "setup"):
            mods[short].setup(args.threads)

    print(f"threads {args.threads}, {args.rounds} rounds; ratio = median (quartiles) of per-round ratios")
    for name in args.workloads:
        wp, init = workloads.build(name)
        ours = mods["ours"].MAKE_STEP[name](wp, workloads.copy_weights(init))
        floor = floor_step(name, wp, workloads.copy_weights(init), np)
        check_same_training(name, floor, ours, np)
        steps = {"floor": floor, "ours": ours}
        for k in ("numpy", "torch", "micrograd"):
            if k in mods and name in getattr(mods[k], "MAKE_STEP", {}):
                steps[k] = mods[k].MAKE_STEP[name](wp, workloads.copy_weights(init))
        gc.collect()
        gc.freeze()  # as run.py does: collections do not walk the other frameworks' objects
        samples = time_paired(steps, args.rounds)
        gc.unfreeze()
        ms = ", ".join(f"{k} {statistics.median(v) * 1e3:.3g} ms" for k, v in samples.items())
        base = "micrograd" if name == "scalar_chain" and "micrograd" in steps else "numpy"
        line = [f"floor/{base} {ratio(samples, 'floor', base)}", f"ours/{base} {ratio(samples, 'ours', base)}"]
        line.append(f"ours/floor {ratio(samples, 'ours', 'floor')}")
        if "torch" in steps:
            line.append(f"ours/torch {ratio(samples, 'ours', 'torch')}, floor/torch {ratio(samples, 'floor', 'torch')}")
            line.append(f"torch/{base} {ratio(samples, 'torch', base)}")
        print(f"{name}: {ms}\n  " + "; ".join(line))


if __name__ == "__main__":
    main()
