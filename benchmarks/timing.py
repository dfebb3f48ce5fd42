"""How a step is timed, and the statistics the tables print.

A sample runs `inner` steps back to back, `inner` chosen so that the sample lasts at least
MIN_SAMPLE_S; before it, outside the timed region, the garbage collector runs and one untimed
step is taken, so the timed steps start in steady state and pay for collecting their own
predecessors' garbage, as in a training loop.
"""

from __future__ import annotations

import gc
import math
import os
import statistics
import time

MIN_SAMPLE_S = 0.05
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def set_threads(n: int, env=None):
    """Ask BLAS for `n` threads through the environment (before numpy is imported); returns env."""
    env = os.environ if env is None else env
    for v in THREAD_VARS:
        env[v] = str(n)
    return env


def warm_up(step, seconds: float = 0.3, least: int = 2) -> float:
    """Run `step` for about `seconds` (at least `least` times); returns the fastest step's seconds,
    the best guess of its time on an idle core."""
    end = time.perf_counter() + seconds
    times = []
    while len(times) < least or time.perf_counter() < end:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return min(times)


def inner_steps(step_seconds: float, min_sample_s: float = MIN_SAMPLE_S) -> int:
    """Steps per sample so that a sample lasts at least `min_sample_s`."""
    return max(1, math.ceil(min_sample_s / max(step_seconds, 1e-9)))


def sample(step, inner: int) -> tuple[float, float]:
    """(wall, cpu) seconds per step over `inner` consecutive steps, after a collection and one
    untimed step. The CPU time is the whole process's (user + system): with one BLAS thread it is
    the step's own work, without the time the process waited for a core on a busy machine."""
    gc.collect()
    step()
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(inner):
        step()
    t1, c1 = time.perf_counter(), time.process_time()
    return (t1 - t0) / inner, (c1 - c0) / inner


def quartiles(values):
    """(first quartile, median, third quartile) of a non-empty list."""
    v = sorted(values)
    if len(v) == 1:
        return v[0], v[0], v[0]
    q1, _, q3 = statistics.quantiles(v, n=4, method="inclusive")
    return q1, statistics.median(v), q3


def paired_ratios(new, old):
    """Per-round ratios new[i] / old[i] of two equally long lists of sample times."""
    if len(new) != len(old):
        raise ValueError(f"paired_ratios: {len(new)} samples against {len(old)}")
    return [a / b for a, b in zip(new, old)]


def fmt_ms(seconds: float) -> str:
    """Milliseconds with three significant digits."""
    ms = seconds * 1e3
    return f"{ms:.3g}" if ms < 1000 else f"{ms:.0f}"


def machine_load() -> str:
    """The 1-minute load average and the core count, for the table's header."""
    try:
        return f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    except OSError:
        return f"{os.cpu_count()} cores"


# two-sided 95 % quantiles of Student's t by degrees of freedom (1.96 beyond the table)
T95 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26, 10: 2.23}


def mean_interval(values):
    """(low, high) 95 % confidence interval of the mean of a few values (Student's t)."""
    n = len(values)
    if n < 2:
        raise ValueError(f"mean_interval: needs two values or more, got {n}")
    m, sd = statistics.fmean(values), statistics.stdev(values)
    half = T95.get(n - 1, 1.96) * sd / math.sqrt(n)
    return m - half, m + half


def median_interval(values, level: float = 0.95):
    """A distribution-free confidence interval of the median: the order statistics that the
    binomial(n, 1/2) distribution puts around it with probability at least `level`."""
    v = sorted(values)
    n = len(v)
    tail = (1 - level) / 2
    j, mass = 0, 0.5**n  # j: how many of the smallest values fall below the interval
    while j < n // 2 and mass + math.comb(n, j + 1) * 0.5**n <= tail:
        j += 1
        mass += math.comb(n, j) * 0.5**n
    if mass > tail:  # too few values for this level: the whole range
        return v[0], v[-1]
    return v[j], v[n - 1 - j]
