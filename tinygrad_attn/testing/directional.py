"""Directional derivatives along random directions: the fast gradient check, and the search for the wrong element.

A function f (inputs x, outputs y) and its backward are checked together through one number per
direction: for a cotangent v (random signs, one per output) backward gives the whole vector
w = J^T v; for a direction d = H u (u Gaussian, H the per-element step) central differences of
g(t) = <v, f(x + t d)> give the directional derivative g'(0) = <w, d>. The difference between the
two, E, is the error of backward projected on d, plus the error of the finite differences.

The finite differences use t = +-1, +-2 and +-4 (six forwards), and the analytic side uses the
displacements actually taken (x + t d rounded to the input's dtype, minus x), so

    delta_t = (g(t) - g(-t))/2t - <w, (D_t - D_-t)/2t>     (D_t the displacement at t)
    E       = (4 delta_1 - delta_2) / 3                     (Richardson: the h^2 truncation cancels)

Every delta carries the same gradient error <e, d>; their differences do not. delta_1 - delta_2
measures the h^2 truncation of a plain central difference (3 c h^2), and E - (4 delta_2 -
delta_4)/3 = 15 times the h^4 error left in E (`remainder`). The round-off of g is
measured by the fourth difference of g over the five points -2..2 (pooled over the rounds), and
bounded from below by KAPPA machine epsilons of `resolution(y)` (the largest over the points
visited: sqrt(sum max(1, |y_i|)^2), how round-off adds up under random signs) + sum |w_k d_k|.
The tolerance of E is SAFETY times remainder + round-off + floor: it comes from the function's
own values along d, and has no factor that grows with the number of elements.

A round also runs backward at x + D_1 (one of the points the differences visit) and compares it
with (g(2) - g(0))/2 there, a plain central difference (its tolerance counts the h^2 truncation):
a backward that is right at x only is seen as well.

When a round disagrees, `locate` restricts the direction to half of the coordinates (first by
input, then by halves of an input's elements) and measures that half the same way: it follows the
half if it disagrees, else the other one. About log2(n) probes (six forwards each) end at one
element, which is then reported with its raw derivative d y[o] / d x[k] (the output o found the same way over the
outputs, one backward per halving). See docs/checking.md for what this guarantees.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SAFETY = 16.0  # tolerance = SAFETY x (measured truncation + measured round-off + round-off floor)
KAPPA = 8.0  # round-off floor: KAPPA machine epsilons of the sums the check forms
NOISY = 0.1  # the differences are useless when their own error (measured + floor) exceeds this fraction of
# the derivative's size: the largest of sum |w_k d_k|, |<w, d>| and the dtype's atol times sum |d_k|
_E_NOISE = 0.95  # sd of E in units of the sd of g's round-off (coefficients 2/3, -2/3, -1/12, 1/12)
_SHIFTS = (1, -1, 2, -2, 4, -4)
_LEAVES = 4  # elements confirmed within tolerance before the search gives up


@dataclass
class Target:
    """One checked array: `array` is the live array the function reads (perturbed in place, then restored)."""

    array: np.ndarray
    step: np.ndarray  # flat float64 step per element
    label: str = ""

    @property
    def flat(self):
        return self.array.reshape(-1)

    @property
    def size(self):
        return self.array.size


class Subject:
    """What the check needs: the targets, `evaluate()` -> flat float64 outputs, `vjp(v)` -> flat grads per target.

    Both read the targets' live arrays. `eps`: the machine epsilon of the working dtype (the
    outputs' lowest precision); `atol`: that dtype's per-element tolerance (`numeric.tolerances_for`).
    """

    def __init__(self, targets, evaluate, vjp, eps, atol):
        for t in targets:  # reshape(-1) of any other layout is a copy: the function would never see a step
            if not t.array.flags.c_contiguous:
                raise ValueError(f"directional check: {t.label} is not C-contiguous")
        self.targets, self.evaluate, self.vjp, self.eps = targets, evaluate, vjp, float(eps)
        self.atol = float(atol)  # the working dtype's per-element tolerance: what "too noisy" is measured against
        self.evaluations = 0
        self.backwards = 0

    def outputs(self):
        self.evaluations += 1
        return self.evaluate()

    def grads(self, v):
        self.backwards += 1
        return [np.asarray(g, dtype=np.float64).reshape(-1) for g in self.vjp(v)]

    def point(self):
        """The values now loaded (copies, each in its target's dtype)."""
        return [t.flat.copy() for t in self.targets]

    def load(self, point):
        for t, p in zip(self.targets, point):
            t.flat[...] = p


@dataclass
class Probe:
    """One directional measurement along d restricted to `block` at a point (all in units of g)."""

    E: float  # Richardson-extrapolated  numeric - analytic
    tau: float  # its tolerance
    numeric: float  # Richardson-extrapolated directional derivative by central differences
    analytic: float  # <w, d> over the block
    truncation: float  # |delta_1 - delta_2|: the h^2 error of a plain central difference
    noise: float  # fourth difference of g / sqrt(70): a sample of g's round-off
    floor: float
    scale: float  # sum |w_k d_k| over the block
    slack: float = 0.0  # the user's atol/rtol, summed over the block's terms
    G: float = 0.0  # the largest `resolution` of the outputs over the points visited
    outs: dict = field(default_factory=dict, repr=False)  # flat outputs at t = +-1, +-2 (leaves only)
    shifts: dict = field(default_factory=dict, repr=False)  # actual displacement of the one element (leaves only)
    remainder: float = 0.0  # |E(h, 2h) - E(2h, 4h)| / 15: the h^4 error left in E

    @property
    def z(self):
        """|E| / (tau + slack): above 1 the probe disagrees; NaN (non-finite values) counts as infinite."""
        z = abs(self.E) / (self.tau + self.slack) if self.tau + self.slack > 0 else (np.inf if self.E else 0.0)
        return np.inf if not np.isfinite(z) else z

    @property
    def bad(self):
        return self.z > 1


@dataclass
class Round:
    """One random cotangent v and direction d: the check at x, and at x + D_1 (`p1`)."""

    v: np.ndarray
    d: list  # H u, per target
    w: list  # backward at x
    g0: float
    G: float  # resolution(y(x))
    base: Probe
    p1: list | None = None  # the point x + D_1 (values in the targets' dtypes)
    w1: list | None = None  # backward there
    g1: float = 0.0
    G1: float = 0.0
    shifted: float = 0.0  # (g(2) - g(0))/2 - <w1, D_2>/2
    shifted_floor: float = 0.0
    shifted_slack: float = 0.0
    shifted_tau: float = 0.0  # its tolerance: a plain central difference there, so the h^2 truncation counts


@dataclass
class Screen:
    """The rounds of a check; `flag` = (round, where) of the first disagreement ('x' or 'x + h d'), or None."""

    rounds: list
    sigma: float  # pooled round-off of g (fourth differences)
    flag: tuple | None = None
    noisy: Round | None = None
    nonfinite: tuple | None = None  # (round, where, target, flat index) of a non-finite analytic gradient

    @property
    def ok(self):
        return self.flag is None and self.noisy is None and self.nonfinite is None


@dataclass
class Finding:
    """Where the search ended: one element (kind 'element') or nothing it could name (kind 'spread')."""

    kind: str
    where: str  # 'x' or 'x + h d'
    target: int | None = None
    index: int | None = None  # flat index in the target
    analytic: float | None = None  # (J^T v)_k by backward
    numeric: float | None = None  # the same by central differences
    output: int | None = None  # flat output index of the raw derivative
    raw_analytic: float | None = None  # d y[output] / d x[k] by backward
    raw_numeric: float | None = None  # and by central differences
    probe: Probe | None = None  # the probe that started the search (the whole direction)
    probes: int = 0


def _slack(w, d, atol, rtol):
    return atol * float(np.abs(d).sum()) + rtol * float(np.abs(w * d).sum())


def _tau(truncation, noise, sigma, floor):
    return SAFETY * (truncation + _E_NOISE * max(sigma, noise) + floor)


def probe(subject, point, point64, w, d, block, v, g0, G, sigma, atol=0.0, rtol=0.0, keep=False):
    """Measure E along d restricted to block [(target, lo, hi), ...] at `point` (loaded before, and after).

    keep: also return the flat outputs at each t (`outs`) and the displacements per block segment
    (`shifts`); True for every t, or a tuple of the t to keep.
    """
    targets = subject.targets
    g, A, outs, shifts = {}, {}, {}, {}
    scale = slack = 0.0
    for i, lo, hi in block:
        wi, di = w[i][lo:hi], d[i][lo:hi]
        scale += float(np.abs(wi) @ np.abs(di))
        if atol or rtol:
            slack += _slack(wi, di, atol, rtol)
    buffers = {i: np.empty(hi - lo) for i, lo, hi in block}  # reused by the shifts not kept: no fresh pages
    try:
        for t in _SHIFTS:  # the point is put back once, after the six evaluations
            a, kept = 0.0, keep is True or (bool(keep) and t in keep)
            for i, lo, hi in block:
                flat, p64 = targets[i].flat, point64[i][lo:hi]
                moved = np.multiply(d[i][lo:hi], t, out=None if kept else buffers[i])
                moved += p64
                flat[lo:hi] = moved  # x + t d, rounded to the target's dtype
                if flat.dtype != np.float64:
                    moved[...] = flat[lo:hi]
                moved -= p64  # the displacement actually taken
                a += float(w[i][lo:hi] @ moved)
                if kept:
                    shifts.setdefault(t, []).append(moved)
            y = subject.outputs()
            g[t], A[t] = float(v @ y), a
            G = max(G, resolution(y))  # round-off scales with the values at every point visited
            if kept:
                outs[t] = y
    finally:
        for i, lo, hi in block:
            targets[i].flat[lo:hi] = point[i][lo:hi]
    d1 = (g[1] - g[-1]) / 2 - (A[1] - A[-1]) / 2
    d2 = (g[2] - g[-2]) / 4 - (A[2] - A[-2]) / 4
    d4 = (g[4] - g[-4]) / 8 - (A[4] - A[-4]) / 8
    r = {t: g[t] - g0 - A[t] for t in _SHIFTS}
    noise = abs(r[2] - 4 * r[1] - 4 * r[-1] + r[-2]) / np.sqrt(70.0)
    floor = KAPPA * subject.eps * (G + scale)
    truncation = abs(d1 - d2)
    analytic = (4 * (A[1] - A[-1]) / 2 - (A[2] - A[-2]) / 4) / 3  # <w, d> with the displacements taken
    numeric = (4 * (g[1] - g[-1]) / 2 - (g[2] - g[-2]) / 4) / 3
    E = (4 * d1 - d2) / 3
    remainder = abs(E - (4 * d2 - d4) / 3) / 15  # E(2h, 4h) has 16 times E's h^4 error; <e, d> cancels
    tau = _tau(remainder, noise, sigma, floor)
    return Probe(E, tau, numeric, analytic, truncation, noise, floor, scale, slack, G, outs, shifts, remainder)


def resolution(y):
    """sqrt(sum_i max(1, |y_i|)^2): with random signs v, the round-off of <v, y> is a few eps times this.

    Each output is taken to be resolved to eps max(1, |y_i|) (as inputs are stepped by h max(1, |x|)):
    an output computed through values of order 1 (log(1 + tiny)) is no more exact than that. With
    independent random signs the errors add in quadrature (Hoeffding: beyond KAPPA times this
    with probability below 2 exp(-KAPPA^2 / 2)).
    """
    return float(np.sqrt(np.square(np.maximum(np.abs(y), 1.0)).sum()))


def _rademacher(rng, n):
    return rng.integers(0, 2, size=n).astype(np.float64) * 2 - 1


def _everything(subject):
    return [(i, 0, t.size) for i, t in enumerate(subject.targets)]


def screen(subject, directions=4, seed=0, atol=0.0, rtol=0.0):
    """Run `directions` rounds at the loaded point x; the Screen says whether and where one disagrees."""
    rng = np.random.default_rng(seed)
    x = subject.point()
    x64 = [p.astype(np.float64) for p in x]
    y0 = subject.outputs()
    rounds = []
    for _ in range(directions):
        v = _rademacher(rng, y0.size)
        d = [t.step * rng.standard_normal(t.size, dtype=np.float32) for t in subject.targets]
        w = subject.grads(v)
        g0, G = float(v @ y0), resolution(y0)
        base = probe(subject, x, x64, w, d, _everything(subject), v, g0, G, 0.0, atol, rtol, keep=(1, 2))
        r = Round(v, d, w, g0, G, base)
        _shifted(subject, r, x, x64, atol, rtol)
        base.outs, base.shifts = {}, {}
        rounds.append(r)
    sigma = float(np.sqrt(np.mean([r.base.noise**2 for r in rounds]))) if rounds else 0.0
    out = Screen(rounds, sigma)
    for k, r in enumerate(rounds):
        for where, grads in (("x", r.w), ("x + h d", r.w1)):
            bad = _first_nonfinite(grads)
            if bad is not None:
                out.nonfinite = (k, where, *bad)
                return out
    for k, r in enumerate(rounds):
        b = r.base
        b.tau = _tau(b.remainder, b.noise, sigma, b.floor)
        measured = b.truncation + _E_NOISE * max(sigma, b.noise) + b.floor
        reference = max(b.scale, abs(b.numeric), subject.atol * sum(float(np.abs(di).sum()) for di in r.d))
        if measured > NOISY * reference:
            out.noisy = r
            return out
        if b.bad:
            out.flag = (k, "x")
            return out
    for r in rounds:
        b = r.base
        r.shifted_tau = _tau(b.truncation, b.noise, sigma, b.floor) + SAFETY * r.shifted_floor + r.shifted_slack
    for k, r in enumerate(rounds):  # only when backward agrees at x along every direction
        if not abs(r.shifted) <= r.shifted_tau:
            out.flag = (k, "x + h d")
            return out
    return out


def _shifted(subject, r, x, x64, atol, rtol):
    """Backward at x + D_1 against (g(2) - g(0))/2, from the outputs and displacements the base probe kept."""
    y1, y2, moved2 = r.base.outs[1], r.base.outs[2], r.base.shifts[2]
    r.p1 = [(xi + di).astype(t.array.dtype) for t, di, xi in zip(subject.targets, r.d, x64)]
    subject.load(r.p1)
    try:
        r.w1 = subject.grads(r.v)
    finally:
        subject.load(x)
    a2 = sum(float(wi @ m) for wi, m in zip(r.w1, moved2))
    size = sum(float(np.abs(wi) @ np.abs(m)) for wi, m in zip(r.w1, moved2)) / 2
    r.g1, r.G1 = float(r.v @ y1), resolution(y1)
    r.shifted = (float(r.v @ y2) - r.g0) / 2 - a2 / 2
    r.shifted_floor = KAPPA * subject.eps * (max(r.G1, r.base.G) + size)
    if atol or rtol:
        r.shifted_slack = sum(_slack(wi, m / 2, atol, rtol) for wi, m in zip(r.w1, moved2))


def _first_nonfinite(grads):
    for i, g in enumerate(grads or ()):
        if np.isfinite(g.sum()):  # one pass; a sum that overflows is looked at element by element
            continue
        bad = np.flatnonzero(~np.isfinite(g))
        if bad.size:
            return i, int(bad[0])
    return None


def _split(block):
    """Two halves of a block: by whole targets while it spans several, else by the element range."""
    if len(block) > 1:
        sizes = np.cumsum([hi - lo for _, lo, hi in block])
        cut = int(np.searchsorted(sizes, sizes[-1] / 2)) + 1
        cut = min(max(cut, 1), len(block) - 1)
        return block[:cut], block[cut:]
    ((i, lo, hi),) = block
    mid = (lo + hi) // 2
    return [(i, lo, mid)], [(i, mid, hi)]


def _size(block):
    return sum(hi - lo for _, lo, hi in block)


def locate(subject, scr, atol=0.0, rtol=0.0, max_probes=None):
    """Search the screen's flagged round for one wrong element: a Finding of kind 'element', else 'spread'.

    The point the search runs at is loaded, and the original values are put back afterwards.
    """
    x = subject.point()
    if scr.nonfinite is not None:
        k, where, i, j = scr.nonfinite
        r = scr.rounds[k]
        point, w = (x, r.w) if where == "x" else (r.p1, r.w1)
        subject.load(point)
        try:
            return _element(subject, point, w, r.d, [(i, j, j + 1)], r.v, where, scr.sigma, atol, rtol, None, 0)
        finally:
            subject.load(x)
    k, where = scr.flag
    r = scr.rounds[k]
    point, w, g0, G = (x, r.w, r.g0, r.G) if where == "x" else (r.p1, r.w1, r.g1, r.G1)
    point64 = [p.astype(np.float64) for p in point]
    everything = _everything(subject)
    n = _size(everything)
    budget = max_probes if max_probes is not None else 4 * int(np.ceil(np.log2(max(n, 2)))) + 16
    subject.load(point)
    try:
        top = (
            r.base
            if where == "x"
            else probe(subject, point, point64, w, r.d, everything, r.v, g0, G, scr.sigma, atol, rtol)
        )
        # one half is measured per level: if it disagrees the search goes into it (the other half waits,
        # unmeasured); if not, the other half holds the disagreement and is entered without a measurement
        stack, probes, leaves = [(everything, "bad")], 1, 0
        while stack:
            if probes >= budget or leaves >= _LEAVES:
                return Finding("spread", where, probe=top, probes=probes)
            block, status = stack.pop()
            if status == "unmeasured":
                probes += 1
                if not probe(subject, point, point64, w, r.d, block, r.v, g0, G, scr.sigma, atol, rtol).bad:
                    continue
            if _size(block) == 1:
                hit = _element(subject, point, w, r.d, block, r.v, where, scr.sigma, atol, rtol, top, probes, g0, G)
                if hit is not None:
                    return hit
                leaves += 1
                continue
            first, second = _split(block)
            probes += 1
            if probe(subject, point, point64, w, r.d, first, r.v, g0, G, scr.sigma, atol, rtol).bad:
                stack += [(second, "unmeasured"), (first, "bad")]
            else:
                stack.append((second, "inferred"))
        return Finding("spread", where, probe=top, probes=probes)  # a real disagreement that no one element explains
    finally:
        subject.load(x)


def _element(subject, point, w, d, block, v, where, sigma, atol, rtol, top, probes, g0=None, G=None):
    """Confirm one element with its own probe, then find its raw derivative d y[o] / d x[k]; None when it agrees."""
    ((i, j, _),) = block
    point64 = [p.astype(np.float64) for p in point]
    if g0 is None:
        y = subject.outputs()
        g0, G = float(v @ y), resolution(y)
    p = probe(subject, point, point64, w, d, block, v, g0, G, sigma, atol, rtol, keep=True)
    if not p.bad and np.isfinite(w[i][j]):
        return None
    s1 = float(p.shifts[1][0][0] - p.shifts[-1][0][0])
    s2 = float(p.shifts[2][0][0] - p.shifts[-2][0][0])
    with np.errstate(all="ignore"):
        col = (4 * (p.outs[1] - p.outs[-1]) / s1 - (p.outs[2] - p.outs[-2]) / s2) / 3  # d y / d x[k], Richardson
    o = _worst_output(subject, i, j, v, col, float(w[i][j]))
    e = np.zeros_like(v)
    e[o] = 1.0
    raw = float(subject.grads(e)[i][j])
    p.outs, p.shifts = {}, {}
    return Finding("element", where, i, j, float(w[i][j]), float(v @ col), o, raw, float(col[o]), top, probes + 1)


def _worst_output(subject, i, j, v, col, whole):
    """The output o whose raw derivative d y[o] / d x[k] disagrees most: halve the cotangent, one backward each."""
    lo, hi = 0, v.size
    while hi - lo > 1:
        mid = (lo + hi) // 2
        va = np.zeros_like(v)
        va[lo:mid] = v[lo:mid]
        a = float(subject.grads(va)[i][j])
        b = whole - a
        with np.errstate(invalid="ignore"):
            ea = abs(a - float(va[lo:mid] @ col[lo:mid]))
            eb = abs(b - float(v[mid:hi] @ col[mid:hi]))
        ea = np.inf if not np.isfinite(ea) else ea
        eb = np.inf if not np.isfinite(eb) else eb
        if ea >= eb:
            hi, whole = mid, a
        else:
            lo, whole = mid, b
    return lo
