"""How fast can an op-level engine on numpy be? A measuring stick for the bench's targets.

Hand-written numpy fuses passes, writes into preallocated buffers and computes each derivative
factor once for all time steps; an engine that records one node per op can do none of that. This
script asks how much of the gap is ours and how much belongs to every op-level engine: it builds
the graphs of workloads.py (the same ops in the same order) on a deliberately minimal engine -- a
tape of closures, micrograd's design on numpy arrays, with no checks, no version counters, no
scopes, no hooks and no records, but the same array helpers as ours -- and times it paired round
by round against tinygrad_attn in one process (timing.py's samples, the order rotating; process
CPU time with one thread, wall time with more).

Before timing, every workload is checked: the minimal engine and tinygrad_attn start from the
same weights and must give the same losses and weights after three steps.

    python benchmarks/floor.py [--threads 1] [--rounds 41] [--workloads ...] [--peers numpy torch micrograd]

With the outside reference bench present (see outside.py), --peers adds its hand-written numpy,
PyTorch and micrograd steps to the same rounds. Each ratio is the median over rounds of
(time of one / time of the other in the same round), with the interquartile range.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import sys

import timing

WORKLOADS = ("scalar_chain", "rnn_tiny", "rnn_mid", "transformer_layer")


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


def floor_step(name, p, data, init, np):
    """One SGD step of workload `name` (sizes `p`, workloads.SIZES) on the minimal engine, as workloads.py builds it."""
    tape = Tape()
    o = make_ops(np, tape)
    P = {k: Node(np.array(v)) for k, v in init.items()}
    o["params"].update(P.values())
    lr = float(p["lr"])

    if name == "scalar_chain":
        w, b, x = P["w"], P["b"], Node(np.array(float(p["x"])))

        def forward():
            y = x
            for _ in range(int(p["n_steps"])):
                y = o["tanh"](o["add"](o["mul"](w, y), b))
            return y

    elif name.startswith("rnn"):
        N, T, H = (int(p[k]) for k in ("N", "T", "H"))
        xs_t = np.ascontiguousarray(data["xs"].T)
        ts = np.ascontiguousarray(data["ts"].T).reshape(-1)

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
        N, T, d, h = (int(p[k]) for k in ("N", "T", "d", "heads"))
        dk = d // h
        X, Y = Node(data["X"]), Node(data["Y"])
        scale = Node(np.asarray(1.0 / math.sqrt(dk), X.data.dtype))  # ours lifts a float to the tensor's dtype
        eps = Node(np.asarray(p["eps"], X.data.dtype))
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

    step.weights = lambda: {k: np.array(p.data) for k, p in P.items()}
    return step


# ---- timing -----------------------------------------------------------------------------------
def check_same_training(name, floor, ours, np):
    """Three steps each from the same weights: equal losses and weights (float32 tolerance)."""
    for i in range(3):
        a, b = floor(), ours()
        if not math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-7):
            raise SystemExit(f"floor: {name}: step {i} loss {a} (minimal engine) != {b} (tinygrad_attn)")
    wa, wb = floor.weights(), ours.weights()
    for k in wb:
        err = float(np.max(np.abs(wa[k] - wb[k]))) / max(1.0, float(np.max(np.abs(wb[k]))))
        if err > 1e-4:
            raise SystemExit(f"floor: {name}: weight {k} differs by {err:.2e} after three steps")


def time_paired(steps, rounds, cpu, settle_s=0.05):
    """Per step function, its seconds per step in each round (process CPU time if `cpu`, else wall
    time); the order rotates round by round, and each sample follows a pause (other steps'
    spinning thread pools park) (timing.py)."""
    import time

    inner = {k: timing.inner_steps(timing.warm_up(step)) for k, step in steps.items()}
    names = list(steps)
    samples = {k: [] for k in names}
    for r in range(rounds):
        for k in names[r % len(names) :] + names[: r % len(names)]:
            time.sleep(settle_s)
            samples[k].append(timing.sample(steps[k], inner[k])[1 if cpu else 0])
    return samples


def ratio(samples, a, b):
    """Median and quartiles over rounds of a's time / b's time."""
    q1, med, q3 = timing.quartiles(timing.paired_ratios(samples[a], samples[b]))
    return f"{med:.2f} ({q1:.2f}-{q3:.2f})"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads (and PyTorch's)")
    ap.add_argument("--rounds", type=int, default=41)
    ap.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=WORKLOADS)
    ap.add_argument("--peers", nargs="+", default=[], metavar="NAME", help="outside adapters: numpy torch micrograd")
    args = ap.parse_args(argv)
    timing.set_threads(args.threads)  # before numpy loads BLAS
    sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this tree's engine
    import numpy as np
    import outside
    import workloads

    peers = {k: m for k in args.peers if (m := outside.adapter(k, args.threads)) is not None}
    clock = "CPU" if args.threads == 1 else "wall"
    print(f"{args.threads} thread(s), {clock} time, {args.rounds} rounds; ratios: median (quartiles) over rounds")
    for name in args.workloads:
        data, init = workloads.inputs(name)
        ours = workloads.build(name)
        floor = floor_step(name, workloads.SIZES[name], data, init, np)
        check_same_training(name, floor, ours, np)
        steps = {"floor": floor, "ours": ours}
        for k, mod in peers.items():
            step = outside.step(mod, name)
            if step is not None:
                steps[k] = step
        gc.collect()
        gc.freeze()  # collections do not walk the other steps' objects
        samples = time_paired(steps, args.rounds, cpu=args.threads == 1)
        gc.unfreeze()
        ms = ", ".join(f"{k} {timing.fmt_ms(timing.quartiles(v)[1])} ms" for k, v in samples.items())
        line = [f"ours/floor {ratio(samples, 'ours', 'floor')}"]
        base = "micrograd" if name == "scalar_chain" and "micrograd" in steps else "numpy"
        if base in steps:
            line += [f"floor/{base} {ratio(samples, 'floor', base)}", f"ours/{base} {ratio(samples, 'ours', base)}"]
        if "torch" in steps:
            line += [f"ours/torch {ratio(samples, 'ours', 'torch')}", f"floor/torch {ratio(samples, 'floor', 'torch')}"]
        print(f"{name}: {ms}\n  " + "; ".join(line))


if __name__ == "__main__":
    main()
