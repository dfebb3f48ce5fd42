"""The vanishing-gradient study: pictures of gradient flow in a tanh chain, tanh RNNs and an LSTM.

`run(out)` writes every picture into the folder `out` and returns (written, numbers): a list
of (path, what it shows) and the per-run gradient norms. `reading(numbers)` turns the numbers
into the paragraph the demo prints. Every graph picture is drawn from the engine's record of
its backward pass (`ta.record_backward()`), which gives the gradients and the edge labels.
Used by `tinygrad-attn demo`. It lives with the command line because it is where the parts
meet: the models (via `analysis`), `testing` (a gradcheck that fails on purpose) and `viz`
(the pictures); viz itself only reads finished graphs.
"""

from __future__ import annotations

import os

import numpy as np

from viz import draw, frames, render

from .. import Tensor, record_backward, scope, stack  # public names: the core's modules may move
from ..testing import GradcheckError, gradcheck
from ..testing.broken import WrongTanh
from . import analysis

T, H = 20, 8
RADII = (0.5, 1.0, 2.0)
CLIP = 1.0
FORGET_BIAS = 3.0


def _write(graph, base, written, what, png=True):
    """Render `graph` to base.svg, and to base.png unless `png` is False."""
    written.append((graph.render(base + ".svg"), what))
    if png:
        written.append((graph.render(base + ".png"), what + " (PNG)"))


def recorded(loss):
    """Run `loss.backward()` inside `ta.record_backward()`; returns the record."""
    with record_backward() as rec:
        loss.backward()
    return rec


def tanh_chain(steps=12, x0=1.0):
    """h_k = tanh(h_{k-1}), h_0 = x: a scalar chain; returns (output, x, record of its backward)."""
    x = Tensor(x0, requires_grad=True, name="x", dtype=np.float64)
    h = x
    for k in range(1, steps + 1):
        h = h.tanh()
        h.name = f"h_{k}"
    return h, x, recorded(h)


def runs():
    """Unroll every run inside its own scope and backprop once; ({label: (loss, hs)}, total, record)."""
    out = {}
    for r in RADII:
        with scope(f"rho={r}"):
            out[f"rho={r}"] = analysis.unroll_tanh_rnn(T=T, H=H, radius=r, seed=0)[:2]
    with scope("LSTM"):
        out["LSTM"] = analysis.unroll_lstm(T=T, H=H, seed=0, forget_bias=FORGET_BIAS)[:2]
    with scope(f"rho={RADII[-1]} clip={CLIP}"):
        clipped = analysis.unroll_tanh_rnn(T=T, H=H, radius=RADII[-1], seed=0, clip=CLIP)
        out[f"rho={RADII[-1]} clip={CLIP}"] = clipped[:2]
    total = stack([loss for loss, _ in out.values()]).sum()  # one op: the columns end level
    total.name = "sum of losses"
    return out, total, recorded(total)  # each h_t keeps its .grad (analysis retains them)


def gradcheck_example(path):
    """A gradcheck that fails on purpose; its picture outlines the input whose gradient disagrees."""

    def f(x, w):
        return WrongTanh.apply(x @ w).sum()

    x = Tensor(np.linspace(-1, 1, 6).reshape(2, 3), name="x")
    w = Tensor(np.linspace(0.5, -0.5, 6).reshape(3, 2), name="w")
    try:
        gradcheck(f, x, w, render_on_failure=path)
    except GradcheckError as e:
        return str(e)
    return "gradcheck unexpectedly passed"


def run(out="out", step_frames=True):
    """Write the study's pictures into `out`; returns (written, numbers)."""
    os.makedirs(out, exist_ok=True)
    written, numbers = [], {}
    h, x, chain = tanh_chain()
    numbers["chain"] = (float(chain.grad_of(x)), float(chain.grad_of(h)))
    results, total, all_runs = runs()
    numbers["norms"] = {k: analysis.gradient_norms(v[1]) for k, v in results.items()}
    try:
        render.to_bytes("digraph {}", "svg")  # is there any renderer at all?
    except render.RenderError as e:
        written.append(("(graph pictures skipped)", str(e)))
    else:
        _graphs(out, written, numbers, chain, all_runs, step_frames)
    _plots(out, written, numbers)
    return written, numbers


def _graphs(out, written, numbers, chain, all_runs, step_frames):
    p = os.path.join
    title = "h_k = tanh(h_(k-1)), 12 steps: the gradient shrinks on its way back to x"
    _write(draw(chain, title=title, rankdir="TB"), p(out, "tanh_chain"), written, "scalar tanh chain, 12 steps")
    if step_frames:
        paths = frames(chain, p(out, "frames"), derivatives=True)  # a label appears once its op has run
        written.append(
            (p(out, "frames", "index.html"), f"backprop step by step through the chain ({len(paths)} frames)")
        )

    loss, _, _ = analysis.unroll_tanh_rnn(T=T, H=H, radius=1.0, seed=0)
    full = draw(
        recorded(loss),
        constants=False,
        derivatives=False,
        max_nodes=10_000,
        max_width=None,
        rankdir="TB",
        title=f"tanh RNN, H={H}, T={T}, rho(W_h)=1",
    )
    _write(full, p(out, "rnn_T20"), written, "tanh RNN unrolled over 20 steps, one cluster per step", png=False)
    # a small overview: the colours, not the labels
    written.append((full.render(p(out, "rnn_T20_overview.png"), dpi=20), "the same, small (colours only)"))
    loss4, _, _ = analysis.unroll_tanh_rnn(T=4, H=H, radius=1.0, seed=0)
    detail = draw(
        recorded(loss4),
        constants=False,
        rankdir="TB",
        title="tanh RNN, 4 steps in full: h_t = tanh(h_(t-1) W_h + x_t W_x + b)",
    )
    _write(detail, p(out, "rnn_T4"), written, "tanh RNN, 4 steps, every op")

    overview = draw(
        all_runs,
        constants=False,
        max_nodes=150,
        rankdir="TB",
        title="One column per run, one box per time step (t=1 at the top), coloured by its largest |grad|",
    )
    _write(overview, p(out, "rnn_runs"), written, "tanh RNN at rho 0.5 / 1 / 2 (+clipping) and an LSTM, per step")

    base = p(out, "gradcheck_failure")
    numbers["gradcheck"] = gradcheck_example(base + ".svg")
    written.append((base + ".svg", "gradcheck failure: the input whose gradient disagrees, outlined in red"))
    gradcheck_example(base + ".png")
    written.append((base + ".png", "gradcheck failure (PNG)"))


def _plots(out, written, numbers):
    from viz import plots  # matplotlib on first use

    p = os.path.join
    plots.gradient_norms(numbers["norms"], p(out, "grad_norms.png"), title=f"||dL/dh_t||, loss = sum(h_{T}), H={H}")
    written.append((p(out, "grad_norms.png"), "gradient norm per time step, all runs (log scale)"))
    spectra = {f"rho={r}": analysis.tanh_rnn_spectra(T=T, H=H, radius=r, seed=0) for r in RADII}
    spectra["LSTM (h, c)"] = analysis.lstm_spectra(T=T, H=H, seed=0, forget_bias=FORGET_BIAS)
    numbers["spectra"] = spectra
    plots.jacobian_spectra(spectra, p(out, "jacobian_spectra.png"))
    written.append((p(out, "jacobian_spectra.png"), "largest singular value of the step Jacobians and their products"))


def reading(numbers) -> str:
    """One paragraph reading the numbers of a run."""
    gx, gh = numbers["chain"]
    n = numbers["norms"]
    first = {k: v[0] for k, v in n.items()}
    last = {k: v[-1] for k, v in n.items()}
    peak = {k: float(np.nanmax(v)) for k, v in n.items()}
    clip = f"rho={RADII[-1]} clip={CLIP}"
    return (
        f"In the scalar chain every step multiplies the gradient by tanh' = 1 - h^2 < 1, so the "
        f"gradient at x is {gx:.3g} of the {gh:.3g} at the output after 12 steps. In the tanh RNN "
        f"(H={H}, T={T}, loss = sum(h_{T})) the gradient reaching h_1 is "
        f"{first['rho=0.5'] / last['rho=0.5']:.1e} of the one at h_{T} for rho(W_h)=0.5 and "
        f"{first['rho=1.0'] / last['rho=1.0']:.1e} for rho=1.0: it vanishes geometrically, as the "
        f"product of step Jacobians (right panel of the spectrum plot) predicts. At rho=2.0 it does not "
        f"vanish: it reaches {peak['rho=2.0']:.3g} on the way back (h_1: {first['rho=2.0']:.3g}); tanh "
        f"saturation keeps it from exploding further in this run, and clipping each step's gradient to "
        f"norm {CLIP} caps it at {peak[clip]:.3g}. The LSTM with its forget gate nearly open (bias "
        f"{FORGET_BIAS}) keeps {first['LSTM'] / last['LSTM']:.2f} of the gradient over the same {T} steps, "
        f"because the cell state passes it back multiplied by the forget gate instead of by W_h and tanh'."
    )
