"""Generated seq2seq tasks in the book's format: question padded with spaces, answer = `_` + text.

Every generator takes a seed, draws `n_train + n_test` *distinct* questions (so no test question
is ever seen in training) and returns a `PairData`. Each question has exactly one answer.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np

from .pairs import PairData, to_arrays
from .vocab import START


def _distinct(make, n: int, rng, what: str, max_tries: int | None = None):
    """Call `make(rng)` until `n` distinct (question, answer) pairs exist (in first-drawn order)."""
    seen, out = set(), []
    tries, limit = 0, max_tries or 50 * n + 1000
    while len(out) < n:
        tries += 1
        if tries > limit:
            raise ValueError(f"{what}: could only draw {len(out)} distinct questions of the {n} asked for")
        q, a = make(rng)
        if q not in seen:
            seen.add(q)
            out.append((q, a))
    return out


def _finish(pairs, n_train: int, name: str) -> PairData:
    wq = max(len(q) for q, _ in pairs)
    wa = max(len(a) for _, a in pairs)
    pairs = [(q.ljust(wq), a.ljust(wa)) for q, a in pairs]
    x, t, vocab = to_arrays(pairs)
    return PairData(x[:n_train], t[:n_train], x[n_train:], t[n_train:], vocab, name)


def _check_sizes(what, n_train, n_test):
    if n_train < 1 or n_test < 0:
        raise ValueError(f"{what}: need n_train >= 1 and n_test >= 0, got {n_train}, {n_test}")


def addition(n_train: int = 45000, n_test: int = 5000, digits: int = 3, seed: int = 0) -> PairData:
    """`a+b` -> `_sum` with 0 <= a, b < 10**digits, the book's layout (question 2*digits+1 wide)."""
    _check_sizes("addition", n_train, n_test)
    hi = 10**digits
    if n_train + n_test > hi * hi:
        raise ValueError(f"addition: only {hi * hi} distinct questions with {digits} digits")

    def make(rng):
        a, b = (int(v) for v in rng.integers(0, hi, size=2))
        return f"{a}+{b}", f"{START}{a + b}"

    pairs = _distinct(make, n_train + n_test, np.random.default_rng(seed), "addition")
    return _finish(pairs, n_train, "addition")


_MONTHS = [_dt.date(2000, m, 1).strftime("%B").lower() for m in range(1, 13)]
_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def _title(s: str) -> str:
    return " ".join(w.capitalize() for w in s.split(" "))


def _ordinal(d: int) -> str:
    suffix = "th" if 10 <= d % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")
    return f"{d}{suffix}"


def _date_styles():
    """Human date styles: each maps a date to a string that names exactly one date in 1970..2017."""

    def month(d):
        return _MONTHS[d.month - 1]

    def mon(d):
        return _MONTHS[d.month - 1][:3]

    def day(d):
        return _DAYS[d.weekday()]

    return [
        lambda d: f"{month(d)} {d.day}, {d.year}",  # september 27, 1994
        lambda d: f"{mon(d)} {d.day}, {d.year}",  # sep 27, 1994
        lambda d: f"{d.day} {month(d)} {d.year}",  # 27 september 1994
        lambda d: f"{d.day} {mon(d)} {d.year}",  # 27 sep 1994
        lambda d: f"{d.month}/{d.day}/{d.year % 100:02d}",  # 9/27/94
        lambda d: f"{d.month:02d}/{d.day:02d}/{d.year}",  # 09/27/1994
        lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",  # 27.09.1994
        lambda d: f"{day(d)}, {month(d)} {d.day}, {d.year}",  # tuesday, september 27, 1994
        lambda d: f"{day(d)[:3]}, {mon(d)} {d.day}, {d.year}",  # tue, sep 27, 1994
        lambda d: f"{month(d)} {_ordinal(d.day)}, {d.year}",  # september 27th, 1994
        lambda d: f"{_ordinal(d.day)} of {month(d)} {d.year}",  # 27th of september 1994
        lambda d: f"{d.year}/{d.month}/{d.day}",  # 1994/9/27
    ]


def dates(n_train: int = 45000, n_test: int = 5000, seed: int = 0, start="1970-01-01", end="2017-12-31") -> PairData:
    """A date in one of many human styles and cases -> `_YYYY-MM-DD` (questions padded to one width)."""
    _check_sizes("dates", n_train, n_test)
    first, last = _dt.date.fromisoformat(start), _dt.date.fromisoformat(end)
    if not (_dt.date(1970, 1, 1) <= first <= last <= _dt.date(2069, 12, 31)):
        raise ValueError(f"dates: range {start}..{end} must lie inside 1970-01-01..2069-12-31 (two-digit years)")
    span = (last - first).days + 1
    styles = _date_styles()
    cases = (str.lower, _title, str.upper)

    def make(rng):
        d = first + _dt.timedelta(days=int(rng.integers(span)))
        style = styles[int(rng.integers(len(styles)))]
        case = cases[int(rng.integers(3))]
        return case(style(d)), f"{START}{d.isoformat()}"

    pairs = _distinct(make, n_train + n_test, np.random.default_rng(seed), "dates")
    return _finish(pairs, n_train, "dates")


def reversal(
    n_train: int = 20000, n_test: int = 2000, min_len: int = 3, max_len: int = 8, alphabet="abcdefghij", seed: int = 0
) -> PairData:
    """A word over `alphabet` -> `_` + the word reversed (lengths min_len..max_len, padded)."""
    _check_sizes("reversal", n_train, n_test)
    if not 1 <= min_len <= max_len or " " in alphabet or START in alphabet:
        raise ValueError("reversal: need 1 <= min_len <= max_len and an alphabet without ' ' and '_'")
    letters = np.array(list(alphabet))

    def make(rng):
        w = "".join(letters[rng.integers(len(letters), size=int(rng.integers(min_len, max_len + 1)))])
        return w, START + w[::-1]

    pairs = _distinct(make, n_train + n_test, np.random.default_rng(seed), "reversal")
    return _finish(pairs, n_train, "reversal")


RECALL_NAMES = "ABCDEFGH"  # the names ("Tom", "Mary", ...), one character each
RECALL_FILLER = "abcdefghijklmnopqrst"  # the distractor words


def recall(
    distance: int = 10,
    n_train: int = 4000,
    n_test: int = 500,
    names: str = RECALL_NAMES,
    filler: str = RECALL_FILLER,
    seed: int = 0,
) -> PairData:
    """Long-range recall: `N w w ... w ?` -> `_N`; the name N stands `distance` tokens before the `?`.

    Question = a name (upper case), `distance - 1` distractor words (lower case), then `?`;
    the answer is the name. To answer, a model must carry the name across `distance` steps.
    """
    _check_sizes("recall", n_train, n_test)
    if distance < 1:
        raise ValueError(f"recall: distance must be >= 1, got {distance}")
    total = len(names) * len(filler) ** (distance - 1)
    if n_train + n_test > total:
        raise ValueError(f"recall: distance {distance} allows only {total} distinct questions")
    nm, fl = np.array(list(names)), np.array(list(filler))

    def make(rng):
        name = nm[int(rng.integers(len(nm)))]
        words = "".join(fl[rng.integers(len(fl), size=distance - 1)])
        return f"{name}{words}?", f"{START}{name}"

    pairs = _distinct(make, n_train + n_test, np.random.default_rng(seed), "recall")
    return _finish(pairs, n_train, f"recall-{distance}")


TASKS = {"addition": addition, "dates": dates, "reversal": reversal, "recall": recall}
