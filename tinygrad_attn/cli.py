"""The `tinygrad-attn` command: `demo` (the vanishing-gradient study)."""

from __future__ import annotations

import argparse
import sys


def demo(args) -> int:
    """Print ||dL/dh_t|| for a 30-step tanh RNN at three spectral radii of W_h."""
    from .analysis import gradient_norms, unroll_tanh_rnn

    T = args.steps
    print(f"tanh RNN, H=8, unrolled for T={T} steps, loss = sum(h_T); ||dL/dh_t|| by t:")
    rows = {}
    for radius in (0.5, 1.0, 2.0):
        loss, hs, _ = unroll_tanh_rnn(T=T, H=8, radius=radius, seed=0)
        loss.backward()
        rows[radius] = gradient_norms(hs)
    print("   t " + "".join(f"  rho(W_h)={r:<4}" for r in rows))
    for t in range(T):
        print(f"{t + 1:4d} " + "".join(f"  {rows[r][t]:13.3e}" for r in rows))
    for r, n in rows.items():
        print(f"rho={r}: gradient at h_1 is {n[0] / n[-1]:.2e} of the gradient at h_{T}")
    return 0


def main(argv=None) -> int:
    """Entry point of the console script."""
    ap = argparse.ArgumentParser(prog="tinygrad-attn", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="the vanishing-gradient study")
    p.add_argument("--steps", type=int, default=30, help="time steps to unroll (default 30)")
    p.set_defaults(func=demo)
    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
