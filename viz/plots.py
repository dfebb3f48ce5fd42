"""Plots of gradient flow, Jacobian spectra, attention and training (matplotlib, no pyplot state).

Every function writes one picture to `path` (format from the suffix: .png, .svg, .pdf) and
returns the matplotlib Figure, so tests and notebooks can inspect it. The object-oriented API
with the Agg canvas is used, so nothing here touches the global pyplot backend.
"""

from __future__ import annotations

import numpy as np

from . import figure
from .plots_lecture import (  # noqa: F401  (the lecture's plots, one namespace with the others)
    first_bad,
    gain_and_product,
    gradient_by_token,
    overflow,
    states_and_contexts,
    tokens_by_gradient,
)


def _figure(w=7.0, h=4.0, ncols=1):
    return figure.new(w, h, ncols)


_save = figure.save
save = figure.save


def _steps(n):
    return np.arange(1, n + 1)


def _integer_x(ax):
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def gradient_norms(runs, path, title="How much gradient reaches each hidden state", ylabel=None):
    """Plot ||dL/dh_t|| against t on a log axis, one line per run.

    runs: {label: array (T,)} of norms (NaN/0 are skipped); path: output file. Returns the Figure.
    """
    fig, ax = _figure()
    for label, norms in runs.items():
        y = np.asarray(norms, dtype=float)
        ok = np.isfinite(y) & (y > 0)
        ax.plot(_steps(len(y))[ok], y[ok], marker="o", ms=3, label=str(label))
    ax.set_yscale("log")
    _integer_x(ax)
    ax.set_xlabel("time step t")
    ax.set_ylabel(ylabel or r"$\|\partial L / \partial h_t\|$  (log scale)")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def jacobian_spectra(runs, path, title="Largest singular value of the step Jacobians"):
    """Two panels: sigma_max(dh_t/dh_{t-1}) per step, and sigma_max(dh_T/dh_{t-1}) (the product back to t).

    runs: {label: (per_step (T,), product (T,))} as from `tinygrad_attn.commands.analysis.jacobian_spectra`.
    """
    fig, (a1, a2) = _figure(11.0, 4.0, ncols=2)
    for label, (per_step, product) in runs.items():
        a1.plot(_steps(len(per_step)), per_step, marker="o", ms=3, label=str(label))
        a2.plot(_steps(len(product)), product, marker="o", ms=3, label=str(label))
    for ax in (a1, a2):
        ax.set_yscale("log")
        ax.axhline(1.0, color="k", lw=0.8, ls="--")
        _integer_x(ax)
        ax.set_xlabel("time step t")
        ax.grid(True, alpha=0.3)
    a1.set_ylabel(r"$\sigma_{max}(\partial h_t / \partial h_{t-1})$")
    a1.set_title("one step")
    a2.set_ylabel(r"$\sigma_{max}(\partial h_T / \partial h_{t-1})$")
    a2.set_title("product from the last step back to t")
    a2.legend(fontsize=8)
    fig.suptitle(title)
    return _save(fig, path)


def attention_heatmap(weights, query_tokens, key_tokens, path, title="Attention weights"):
    """Heatmap of attention weights (Tq, Tk) (a leading batch axis of 1 is dropped), tokens as tick labels.

    Rows are query (output) positions, columns key (input) positions.
    """
    w = np.asarray(weights, dtype=float)
    while w.ndim > 2 and w.shape[0] == 1:
        w = w[0]
    if w.ndim != 2:
        raise ValueError(f"attention_heatmap: weights must be (Tq, Tk), got shape {np.shape(weights)}")
    q, k = [str(t) for t in query_tokens], [str(t) for t in key_tokens]
    if (len(q), len(k)) != w.shape:
        raise ValueError(f"attention_heatmap: {len(q)} query and {len(k)} key tokens for weights {w.shape}")
    fig, ax = _figure(max(4.0, 0.45 * len(k) + 2), max(3.0, 0.4 * len(q) + 1.5))
    im = ax.imshow(w, cmap="viridis", vmin=0.0, vmax=max(1e-12, float(w.max())), aspect="auto")
    ax.set_xticks(range(len(k)), labels=k, rotation=90 if max(map(len, k), default=0) > 2 else 0)
    ax.set_yticks(range(len(q)), labels=q)
    ax.set_xlabel("key (input) tokens")
    ax.set_ylabel("query (output) tokens")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label="weight")
    return _save(fig, path)


def training_curves(history, path, title="Training"):
    """Loss and accuracy per epoch.

    history: {"loss": [...], "accuracy": [...], "val_loss": [...], "val_accuracy": [...]} (any
    subset; lists indexed by epoch), or {run_label: such a dict} for several runs in one figure.
    Loss goes on the left panel, accuracy (if any) on the right.
    """
    runs = history if history and all(isinstance(v, dict) for v in history.values()) else {"": history}
    has_acc = any(k.endswith("accuracy") for h in runs.values() for k in h)
    fig, axes = _figure(11.0 if has_acc else 6.0, 4.0, ncols=2 if has_acc else 1)
    a_loss, a_acc = (axes[0], axes[1]) if has_acc else (axes, None)
    for label, h in runs.items():
        for key, values in h.items():
            if values is None or len(values) == 0:
                continue
            ax = a_acc if key.endswith("accuracy") else a_loss
            if ax is None:
                continue
            name = f"{label} {key}".strip()
            ax.plot(_steps(len(values)), np.asarray(values, dtype=float), marker="o", ms=3, label=name)
    _integer_x(a_loss)
    a_loss.set_xlabel("epoch")
    a_loss.set_ylabel("loss")
    a_loss.set_title("loss")
    a_loss.grid(True, alpha=0.3)
    a_loss.legend(fontsize=8)
    if a_acc is not None:
        _integer_x(a_acc)
        a_acc.set_xlabel("epoch")
        a_acc.set_ylabel("accuracy")
        a_acc.set_ylim(0, 1.02)
        a_acc.set_title("accuracy")
        a_acc.grid(True, alpha=0.3)
        a_acc.legend(fontsize=8)
    fig.suptitle(title)
    return _save(fig, path)


def accuracy_by_seed(
    groups, path, title="Test accuracy per epoch, one line per seed", target=None, first_epoch=1, ymin=None
):
    """One panel per group of runs, run k (seed k) one line of accuracy (fractions in [0, 1]) per epoch.

    groups: {label: [accuracies by epoch, ...]}; epochs before `first_epoch` are left out; `target`
    (a fraction) draws a dashed line; `ymin` (percent) cuts the axis off below, else it fits the
    lowest point. The panels share the y axis so the spread compares at a glance.
    """
    groups = {str(k): [np.asarray(r, dtype=float) for r in v] for k, v in groups.items() if len(v)}
    if not groups:
        raise ValueError("accuracy_by_seed: no runs to plot")
    fig, axes = _figure(4.2 * len(groups), 4.0, ncols=len(groups))
    axes = np.atleast_1d(axes)
    shown = [r[first_epoch - 1 :] for runs in groups.values() for r in runs]
    low = min(float(r.min()) for r in shown if r.size)
    for ax, (label, runs) in zip(axes, groups.items()):
        for k, r in enumerate(runs):
            ep = _steps(len(r))[first_epoch - 1 :]
            ax.plot(ep, 100 * r[first_epoch - 1 :], marker="o", ms=2.5, lw=1.2, label=f"seed {k}")
        if target is not None:
            ax.axhline(100 * target, color="k", lw=0.8, ls="--")
        _integer_x(ax)
        ax.set_ylim(100 * low - 1 if ymin is None else ymin, 100.5)
        ax.set_xlabel("epoch")
        ax.set_title(label, fontsize=10)
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("test accuracy (%)")
    counts = [len(runs) for runs in groups.values()]
    for ax, n in zip(axes, counts):  # one legend per distinct number of seeds, and the last panel
        if ax is axes[-1] or n != counts[-1]:
            ax.legend(fontsize=7, loc="lower right", ncols=2 if n > 5 else 1)
    fig.suptitle(title)
    return _save(fig, path)


def eps_scan_plot(scans, path, title="Central-difference error against step size"):
    """Plot relative error against step h (log-log), one line per `testing.EpsScan`, each dtype's automatic step marked.

    scans: {label: EpsScan}; path: output file. Returns the Figure.
    """
    fig, ax = _figure()
    for label, s in scans.items():
        ok = np.isfinite(s.errors) & (s.errors > 0)
        (line,) = ax.plot(s.steps[ok], s.errors[ok], marker="o", ms=3, label=f"{label} ({s.dtype})")
        ax.axvline(s.auto_step, color=line.get_color(), ls=":", lw=1)
        ax.annotate(f"auto h = {s.auto_step:.1e}", (s.auto_step, 1.0), rotation=90, va="top", ha="right",
                    fontsize=8, color=line.get_color(), xycoords=("data", "axes fraction"))  # fmt: skip
    h = np.logspace(-12, -1, 50)
    ax.plot(h, h**2, color="0.6", ls="--", lw=1, label=r"truncation $\propto h^2$")
    for dt in sorted({np.dtype(s.dtype) for s in scans.values()}, key=str):
        ax.plot(h, np.finfo(dt).eps / h, color="0.3", ls="--", lw=1, label=rf"round-off $\propto \epsilon/h$ ({dt})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1e-13, 10)
    ax.set_xlabel("step h")
    ax.set_ylabel("relative error of the central difference")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower left")
    return _save(fig, path)


def function_and_derivative(x, y, dy, path, names=("f(x)", "f'(x)"), title=None):
    """One function and its derivative on one axis: x, y, dy (n,) arrays. Returns the Figure."""
    fig, ax = _figure(7.0, 4.0)
    ax.plot(x, y, lw=2, label=names[0])
    ax.plot(x, dy, lw=2, label=names[1])
    ax.fill_between(x, 0, dy, alpha=0.15, color="C1")
    ax.axhline(1.0, color="k", lw=0.8, ls="--")
    ax.axhline(0.0, color="k", lw=0.5)
    ax.set_xlabel("x")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=9, loc="lower right")
    if title:
        ax.set_title(title)
    return _save(fig, path)


def attention_grid(
    maps, path, title=None, ncols=5, cmap="viridis", query_label=None, key_label=None, bar_label="weight",
    width=None, fontsize=8.0,
):  # fmt: skip
    """A grid of attention heatmaps with shared colours [0, 1], queries down the rows and keys across.

    maps: list of dicts {"weights": (Tq, Tk), "rows": Tq query labels, "cols": Tk key labels,
    "title": str, optional "note": a line under the panel, optional "query"/"key": the panel's own
    axis names}. query_label / key_label name the axes once for the whole grid. fontsize: pt of the
    tick labels (titles one larger). Returns the Figure.
    """
    if not maps:
        raise ValueError("attention_grid: no maps")
    ncols = min(ncols, len(maps))
    nrows = (len(maps) + ncols - 1) // ncols
    width = width or 3.3 * ncols
    fig, axes = figure.new(width, (width / ncols) * 1.05 * nrows + 0.8, ncols, nrows, squeeze=False)
    axes = axes.ravel()
    im = None
    for j, (ax, m) in enumerate(zip(axes, maps)):
        w = np.asarray(m["weights"], dtype=float)
        rows, cols = [str(t) for t in m["rows"]], [str(t) for t in m["cols"]]
        if w.shape != (len(rows), len(cols)):
            raise ValueError(f"attention_grid: weights {w.shape} for {len(rows)} rows and {len(cols)} columns")
        im = ax.imshow(w, cmap=cmap, vmin=0, vmax=1, aspect="auto", interpolation="nearest")
        ax.set_xticks(range(len(cols)), labels=cols, fontsize=fontsize)
        ax.set_yticks(range(len(rows)), labels=rows, fontsize=fontsize)
        ax.tick_params(length=2, pad=1.5)
        ax.set_title(m.get("title", ""), fontsize=fontsize + 1.5)  # a radical is drawn at 2/3 of this
        under = [x for x in (m.get("key"), m.get("note")) if x]  # below the key letters: no mathtext here
        if under:
            ax.set_xlabel("\n".join(under), fontsize=fontsize)
        left = maps[j - 1] if j % ncols else None  # the neighbour on the left says the same: say it once
        if m.get("query") and not (left and left.get("query") == m["query"]):
            ax.set_ylabel(m["query"], fontsize=fontsize)
    for ax in axes[len(maps) :]:
        ax.axis("off")
    cb = fig.colorbar(im, ax=list(axes[: len(maps)]), shrink=0.6 if nrows > 1 else 0.9, aspect=30 if nrows > 1 else 20)
    cb.set_label(bar_label, fontsize=fontsize)
    cb.ax.tick_params(labelsize=fontsize)
    if key_label:
        fig.supxlabel(key_label, fontsize=fontsize + 1)
    if query_label:
        fig.supylabel(query_label, fontsize=fontsize + 1)
    if title:
        fig.suptitle(title, fontsize=fontsize + 2)
    return _save(fig, path)
