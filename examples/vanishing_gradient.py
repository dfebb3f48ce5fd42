"""The vanishing gradient, seen: draw a tanh chain and an unrolled RNN coloured by |grad|, plot the norms.

    python examples/vanishing_gradient.py            # pictures into out/vanishing/
    tinygrad-attn demo                               # the full study (adds LSTM, clipping, spectra)

Every tensor node is filled by log10 ||dL/dnode|| on one colour scale: dark = large, pale =
vanishing. Rendering needs no system Graphviz for SVG (an embedded WebAssembly Graphviz is used).
"""

from __future__ import annotations

import argparse
import os

import numpy as np

import tinygrad_attn as ta
import viz
from tinygrad_attn import Tensor
from tinygrad_attn.commands import analysis


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    p.add_argument("--out", default=os.path.join("out", "vanishing"))
    p.add_argument("--steps", type=int, default=20, help="time steps of the RNN (default 20)")
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    # 1. a scalar chain h_k = tanh(h_{k-1}): each step multiplies the gradient by 1 - h_k^2 < 1
    x = Tensor(1.0, requires_grad=True, name="x", dtype=np.float64)
    h = x
    for k in range(1, 13):
        h = h.tanh()
        h.name = f"h_{k}"
    with ta.record_backward() as rec:  # the engine's own account: gradients and each edge's derivative
        h.backward()
    print("wrote", viz.draw(rec, rankdir="TB").render(os.path.join(args.out, "tanh_chain.svg")))

    # 2. nn.RNN in its per-step form (h_0, then t=1..T) at three spectral radii of W_h; ||dL/dh_t|| per t
    norms = {}
    for radius in (0.5, 1.0, 2.0):
        loss, hs, _ = analysis.unroll_tanh_rnn(T=args.steps, H=8, radius=radius, seed=0)
        with ta.record_backward() as rec:
            loss.backward(retain_grad=True)  # retain_grad: gradient_norms reads .grad of each h_t
        norms[f"rho={radius}"] = analysis.gradient_norms(hs)
        g = viz.draw(rec, constants=False, max_nodes=60, rankdir="TB")  # one box per time step
        print("wrote", g.render(os.path.join(args.out, f"rnn_rho{radius}.svg")))
    path = os.path.join(args.out, "grad_norms.png")
    viz.plots.gradient_norms(norms, path)
    print("wrote", path)
    for label, n in norms.items():
        print(f"{label}: ||dL/dh_1|| / ||dL/dh_{args.steps}|| = {n[0] / n[-1]:.2e}")


if __name__ == "__main__":
    main()
