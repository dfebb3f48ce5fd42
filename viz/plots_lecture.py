"""The lecture's plots: gradient per word, the gain of MatMul steps, overflow, encoder states and context.

Every function draws what it is given (all words passed in, so a caller can label in any
language), writes `path` (a path or a list of paths, format from each suffix) and returns the
matplotlib Figure. Used through `viz.plots`.
"""

from __future__ import annotations

import math

import numpy as np

from . import colors, figure


def _log_norms(y):
    y = np.asarray(y, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(y > 0, np.log10(np.where(y > 0, y, 1.0)), -np.inf)


def gradient_by_token(
    runs,
    tokens,
    path,
    title="How much gradient reaches each word",
    ylabel=None,
    xlabel="input word (read left to right)",
):
    """One norm per token (the words on the x axis), log scale, one line per run.

    runs: {label: array (T,)} of norms, T = len(tokens). Returns the Figure.
    """
    tokens = [str(t) for t in tokens]
    fig, ax = figure.new(max(7.0, 0.48 * len(tokens) + 2), 4.2)
    for label, norms in runs.items():
        y = np.asarray(norms, dtype=float)
        if y.shape != (len(tokens),):
            raise ValueError(f"gradient_by_token: {label!r} has {y.shape} norms for {len(tokens)} tokens")
        ok = np.isfinite(y) & (y > 0)
        ax.plot(np.arange(len(y))[ok], y[ok], marker="o", ms=4, label=str(label))
    ax.set_yscale("log")
    ax.set_xticks(range(len(tokens)), labels=tokens, rotation=45, ha="right")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel or "||dL/dx_t|| (log scale)")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=9)
    return figure.save(fig, path)


def _bar_axes(fig, scale, label, fontsize, rect):
    """A horizontal colour bar of the gradient scale (log10 units, ticks labelled with the norms)."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import LinearSegmentedColormap, Normalize

    from .diagram import norm_ticks

    cmap = LinearSegmentedColormap.from_list("grad", [colors.grad_colour(v, 0, 1) for v in np.linspace(0, 1, 11)])
    cax = fig.add_axes(rect)
    cb = fig.colorbar(ScalarMappable(Normalize(*scale), cmap), cax=cax, orientation="horizontal")
    cb.set_label(label, fontsize=fontsize)
    cb.ax.tick_params(labelsize=fontsize)
    norm_ticks(cb, scale)
    return cb


def tokens_by_gradient(rows, tokens, path, title=None, bar_label="||dL/dx_t|| (log scale)", fontsize=11.0):
    """The sentence once per run, each word on a box filled by the norm of the gradient that reached it.

    rows: {run label: norms (T,)}, T = len(tokens); one colour scale (log10, shared by all rows). Returns the Figure.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch

    tokens = [str(t) for t in tokens]
    logs = {}
    for label, norms in rows.items():
        y = np.asarray(norms, dtype=float)
        if y.shape != (len(tokens),):
            raise ValueError(f"tokens_by_gradient: {label!r} has {y.shape} norms for {len(tokens)} tokens")
        logs[label] = _log_norms(y)
    scale = colors.nice_scale([v for y in logs.values() for v in y])
    char = 0.62 * fontsize / 72  # inches per character, DejaVu Sans at this size (estimate for the layout)
    widths = [max(2, len(t)) * char + 0.16 for t in tokens]
    label_w = max(len(str(k)) for k in rows) * char * 0.95 + 0.2
    gap, row_h = 0.06, 2.1 * fontsize / 72
    W = label_w + sum(widths) + gap * len(tokens) + 0.3
    head = 0.5 if title else 0.15
    H = head + row_h * len(rows) * 1.35 + 1.0
    fig = Figure(figsize=(W, H), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 1.0 / H, 1, (H - head - 1.0) / H))
    ax.set_xlim(0, W)
    ax.set_ylim(-len(rows) * row_h * 1.35, 0)
    ax.axis("off")
    for r, (label, y) in enumerate(logs.items()):
        yc = -(r + 0.5) * row_h * 1.35
        ax.text(label_w - 0.12, yc, str(label), ha="right", va="center", fontsize=fontsize)
        x = label_w
        for tok, w, v in zip(tokens, widths, y):
            fill = colors.ZERO_FILL if not math.isfinite(v) else colors.grad_colour(v, *scale)
            ax.add_patch(
                FancyBboxPatch((x, yc - row_h / 2), w, row_h, boxstyle="round,pad=0,rounding_size=0.04", fc=fill,
                               ec="none")
            )  # fmt: skip
            ax.text(x + w / 2, yc, tok, ha="center", va="center", fontsize=fontsize, color=colors.text_colour(fill))
            x += w + gap
    if title:
        fig.text(0.5, 1 - 0.5 * head / H, title, ha="center", va="center", fontsize=fontsize + 1)
    cw = min(5.0, 0.6 * W)
    _bar_axes(fig, scale, bar_label, fontsize, ((W - cw) / 2 / W, 0.55 / H, cw / W, 0.14 / H))
    return figure.save(fig, path)


def gain_and_product(
    runs, path, title="Backprop through MatMul only", radii=None, xlabel="steps walked back k",
    gain_label="gain of one step ||g W_hᵀ|| / ||g||", product_label="||g after k steps|| / ||g|| (log scale)",
    gain_title="one step", product_title="the product of k steps", guide_label="ρ^k (dashed)",
):  # fmt: skip
    """Two panels against the steps walked back: the gain of each step and the product of all so far.

    runs: {label: norms (T+1,)}, norms[k] = ||gradient|| after k steps back (norms[0] at the output).
    radii: {label: ρ} draws ρ (left) and ρ^k (right) dashed in the run's colour. Returns the Figure.
    """
    fig, (a1, a2) = figure.new(11.0, 4.2, ncols=2)
    for label, norms in runs.items():
        n = np.asarray(norms, dtype=float)
        k = np.arange(1, len(n))
        (line,) = a1.plot(k, n[1:] / n[:-1], marker="o", ms=2.5, lw=1.2, label=str(label))
        a2.plot(np.arange(len(n)), n / n[0], marker="o", ms=2.5, lw=1.2, label=str(label))
        if radii and label in radii:
            r = radii[label]
            a1.axhline(r, color=line.get_color(), lw=1.0, ls="--")
            a2.plot(np.arange(len(n)), r ** np.arange(len(n)), color=line.get_color(), lw=1.0, ls="--")
    a2.set_yscale("log")
    from matplotlib.ticker import MaxNLocator

    for ax in (a1, a2):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel(xlabel)
        ax.grid(True, alpha=0.3)
    a1.set_ylabel(gain_label)
    a1.set_title(gain_title)
    a2.set_ylabel(product_label)
    a2.set_title(product_title)
    if radii:
        a2.plot([], [], color="0.3", ls="--", lw=1.0, label=guide_label)
    a2.legend(fontsize=9)
    fig.suptitle(title)
    return figure.save(fig, path)


def first_bad(norms):
    """(first k with inf, first k with NaN, first k with exactly 0) in a norm sequence, None where none."""
    n = np.asarray(norms, dtype=float)

    def first(mask):
        idx = np.flatnonzero(mask)
        return int(idx[0]) if idx.size else None

    return first(np.isposinf(n)), first(np.isnan(n)), first(n == 0)


def overflow(
    runs, path, title=None, xlabel="steps walked back k", ylabel="||dL/dh_(T-k)|| (log scale)",
    inf_label="inf from k = {k}", nan_label="NaN from k = {k}", zero_label="exactly 0 from k = {k}",
    floor=None, floor_label="at the smallest number from k = {k}",
):  # fmt: skip
    """The gradient's norm per step walked back, log scale, with where it became inf, NaN or exactly 0.

    runs: {label: norms (T+1,)}, possibly inf/NaN/0 (float32 overflow, underflow). Finite values are
    lines; steps with inf are drawn on the top edge (▲), NaN on the top edge (✕), exact zeros on the
    bottom edge (▼), each run's first one labelled. floor: a norm at or below which a run has reached
    the dtype's smallest numbers (its first step there is labelled with floor_label). Returns the Figure.
    """
    fig, ax = figure.new(11.0, 4.4)
    top, bottom = [], []
    finite = [v for n in runs.values() for v in np.asarray(n, float) if np.isfinite(v) and v > 0]
    lo, hi = (min(finite), max(finite)) if finite else (1e-3, 1e3)
    y_top, y_bot = hi * 1e4, lo / 1e4
    for label, norms in runs.items():
        n = np.asarray(norms, dtype=float)
        k = np.arange(len(n))
        ok = np.isfinite(n) & (n > 0)
        (line,) = ax.plot(k[ok], n[ok], lw=1.4, label=str(label))
        c = line.get_color()
        inf_k, nan_k, zero_k = first_bad(n)
        if inf_k is not None:
            ks = k[np.isposinf(n)]
            ax.plot(ks, np.full(ks.shape, y_top), ls="none", marker="^", ms=4, color=c, clip_on=False)
            top.append((inf_k, inf_label.format(k=inf_k), c))
        if nan_k is not None:
            ks = k[np.isnan(n)]
            ax.plot(ks, np.full(ks.shape, y_top), ls="none", marker="x", ms=4, color=c, clip_on=False)
            top.append((nan_k, nan_label.format(k=nan_k), c))
        low = np.flatnonzero(np.isfinite(n) & (n > 0) & (n <= (floor or 0)))
        if low.size:
            bottom.append((int(low[0]), floor_label.format(k=int(low[0])), c))
        if zero_k is not None:
            ks = k[n == 0]
            ax.plot(ks, np.full(ks.shape, y_bot), ls="none", marker="v", ms=4, color=c, clip_on=False)
            bottom.append((zero_k, zero_label.format(k=zero_k), c))
    ax.set_yscale("log")
    ax.set_ylim(y_bot, y_top)
    for i, (k0, text, c) in enumerate(sorted(top)):
        ax.annotate(text, (k0, y_top), xytext=(4, -14 - 14 * i), textcoords="offset points", color=c, fontsize=10,
                    ha="left", va="top")  # fmt: skip
        ax.axvline(k0, color=c, lw=0.8, ls=":")
    for i, (k0, text, c) in enumerate(sorted(bottom)):
        ax.annotate(text, (k0, y_bot), xytext=(4, 14 + 14 * i), textcoords="offset points", color=c, fontsize=10,
                    ha="left", va="bottom")  # fmt: skip
        ax.axvline(k0, color=c, lw=0.8, ls=":")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=10, loc="lower left")
    if title:
        ax.set_title(title)
    return figure.save(fig, path)


def states_and_contexts(
    panels, path, title=None, rows_label="encoder step (input token)", context_label="context h_T",
    unit_label="hidden unit", value_label="state value", accuracy=None,
):  # fmt: skip
    """Side by side, for each input: the encoder's states (T, H) as a heat map, its last one again below.

    panels: list of {"states": (T, H), "tokens": T labels, "title": str}; one colour scale for all.
    accuracy: optional {"by_length": {length: fraction}, "title", "xlabel", "ylabel"} drawn as a
    last panel of bars. The single row under each map is what a plain Seq2Seq decoder receives.
    """
    panels = list(panels)
    for p in panels:
        s = np.asarray(p["states"], dtype=float)
        if s.ndim != 2 or s.shape[0] != len(p["tokens"]):
            raise ValueError(f"states_and_contexts: states {s.shape} for {len(p['tokens'])} tokens")
    lim = max(float(np.abs(np.asarray(p["states"], float)).max()) for p in panels) or 1.0
    T = max(len(p["tokens"]) for p in panels)
    ncols = len(panels) + (1 if accuracy else 0)
    fig = figure.new(4.2 * ncols, 0.26 * T + 2.6, 0)[0]
    grid = fig.add_gridspec(2, ncols, height_ratios=[T, 1.5])
    im = None
    for j, p in enumerate(panels):
        s = np.asarray(p["states"], dtype=float)
        a1 = fig.add_subplot(grid[0, j])
        a2 = fig.add_subplot(grid[1, j], sharex=a1)
        im = a1.imshow(s, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto", interpolation="nearest")
        a1.set_yticks(range(len(p["tokens"])), labels=[str(t) for t in p["tokens"]], fontsize=10)
        a1.set_title(p.get("title", ""), fontsize=11)
        a1.tick_params(labelbottom=False)
        if j == 0:
            a1.set_ylabel(rows_label)
        a2.imshow(s[-1:], cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto", interpolation="nearest")
        a2.set_yticks([0], labels=[context_label], fontsize=10)
        a2.set_xlabel(unit_label)
    if accuracy:
        ax = fig.add_subplot(grid[:, -1])
        lengths = sorted(accuracy["by_length"])
        ax.bar(lengths, [100 * accuracy["by_length"][n] for n in lengths], color="#3b528b")
        ax.set_ylim(0, 100)
        ax.set_xticks(lengths)
        ax.set_title(accuracy.get("title", ""), fontsize=11)
        ax.set_xlabel(accuracy.get("xlabel", ""))
        ax.set_ylabel(accuracy.get("ylabel", ""))
        ax.grid(True, axis="y", alpha=0.3)
    cb = fig.colorbar(im, ax=fig.axes[: 2 * len(panels)], shrink=0.7, location="bottom", aspect=40)
    cb.set_label(value_label)
    if title:
        fig.suptitle(title)
    return figure.save(fig, path)
