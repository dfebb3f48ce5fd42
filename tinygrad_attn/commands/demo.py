"""Print ||dL/dh_t|| for a tanh RNN unrolled over T steps at three spectral radii of W_h."""

from __future__ import annotations


def add_arguments(p):
    p.add_argument("--steps", type=int, default=30, help="time steps to unroll (default 30)")


def run(args) -> int:
    from ..analysis import gradient_norms, unroll_tanh_rnn

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
