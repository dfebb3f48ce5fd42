"""What the lecture's figure modules share: file names, log norms, a training loop with progress on stderr."""

from __future__ import annotations

import os
import sys

import numpy as np

from .. import data, optim
from .. import functional as F


def both(out, stem):
    """([out/stem.png, out/stem.svg], [stem.png, stem.svg]): where a figure goes and the names it reports."""
    names = [f"{stem}.png", f"{stem}.svg"]
    return [os.path.join(out, n) for n in names], names


def log_norm(g):
    """log10 ||g|| of a gradient (None: None; a zero gradient: -inf)."""
    if g is None:
        return None
    n = float(np.linalg.norm(np.asarray(g, dtype=np.float64)))
    return float(np.log10(n)) if n > 0 else float("-inf")


class Progress:
    """Progress of a training loop on stderr: a tqdm bar on a terminal, else a line at every quarter."""

    def __init__(self, total, desc):
        self.total, self.desc, self.done, self.bar = total, desc, 0, None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc, file=sys.stderr, leave=False, unit="step")
        else:
            print(f"{desc}: {total} steps ...", file=sys.stderr, flush=True)

    def update(self, n=1):
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.done < self.total and self.done % max(1, self.total // 4) == 0:
            print(f"{self.desc}: {self.done}/{self.total}", file=sys.stderr, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def train_steps(model, x, t, steps, lr, desc, batch=64, seed_=0):
    """Adam on cross-entropy of model(x, t[:, :-1]) against t[:, 1:], `steps` batches; returns the last loss."""
    opt = optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed_)
    bar, k, loss = Progress(steps, desc), 0, None
    try:
        while k < steps:
            for xb, tb in data.batches(x, t, batch, rng=rng, drop_last=True):
                loss = F.cross_entropy(model(xb, tb[:, :-1]), tb[:, 1:])
                opt.zero_grad()
                loss.backward()
                opt.step()
                k += 1
                bar.update()
                if k == steps:
                    break
    finally:
        bar.close()
    return float(loss.item()) if loss is not None else float("nan")
