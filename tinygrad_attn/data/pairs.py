"""Question/answer pairs as integer arrays, the book's text format, and the book's train/test split."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import numpy as np

from .packaged import dataset_file, dataset_stem, is_dataset_name
from .vocab import PAD, START, Vocab

BOOK_SEED = 1984  # the book seeds numpy's legacy global generator with this before shuffling


@dataclass
class PairData:
    """A seq2seq task as id arrays: questions x (N, Tq), answers t (N, Ta) starting with the start id.

    The decoder is fed `t[:, :-1]` and trained to predict `t[:, 1:]`.
    """

    x_train: np.ndarray
    t_train: np.ndarray
    x_test: np.ndarray
    t_test: np.ndarray
    vocab: Vocab
    name: str = ""

    def reversed(self) -> PairData:
        """The same data with every question reversed (the book's "reversed input" trick)."""
        return replace(self, x_train=self.x_train[:, ::-1].copy(), x_test=self.x_test[:, ::-1].copy())

    def __repr__(self) -> str:
        return (
            f"PairData({self.name!r}: train {self.x_train.shape}->{self.t_train.shape}, "
            f"test {self.x_test.shape}->{self.t_test.shape}, vocab {len(self.vocab)})"
        )


def _open_text(path):
    """The text of a file or of a packaged dataset, opened as UTF-8 (a leading byte order mark dropped)."""
    if is_dataset_name(path):
        return dataset_file(path).open("r", encoding="utf-8-sig")
    return open(path, encoding="utf-8-sig")


def read_pairs(path) -> list[tuple[str, str]]:
    """Lines of the book's format -> [(question, answer)] in file order; the answer keeps its leading `_`.

    `path` is a file, or the name of a packaged dataset (`"book:addition"`, `"book:date"`).
    A UTF-8 byte order mark at the start of the file is dropped (it is not a token).
    """
    path = path if is_dataset_name(path) else os.fspath(path)
    try:
        with _open_text(path) as f:
            lines = f.read().split("\n")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not a text file ({e.reason} at byte {e.start})") from None
    if lines and lines[-1] == "":
        lines.pop()
    pairs = []
    for i, line in enumerate(lines, 1):
        k = line.find(START)
        if k < 0:
            what = f"no '{START}' separating question and answer in {line[:40]!r}" if line.strip() else "an empty line"
            raise ValueError(f"{path}:{i}: {what} (each line is a question, '{START}', then the answer)")
        pairs.append((line[:k], line[k:]))
    if not pairs:
        raise ValueError(f"{path}: the file is empty (no question/answer lines)")
    return pairs


def check_not_empty(pairs, level: str = "char", where="pairs") -> None:
    """Raise ValueError naming `where` when every question, or every answer after its `_`, has no tokens.

    Such data would give the model sequences of length 0: there would be nothing to read or to predict.
    """
    tokens = Vocab(level=level).tokens
    if not any(tokens(q) for q, _ in pairs):
        raise ValueError(f"{where}: every question is empty (nothing before '{START}' on any line)")
    if not any(len(tokens(a)) > 1 for _, a in pairs):
        raise ValueError(f"{where}: every answer is empty (nothing after '{START}' on any line)")


def book_permutation(n: int, seed: int = BOOK_SEED) -> np.ndarray:
    """The book's shuffle: numpy's legacy Mersenne Twister seeded with `seed`, shuffling 0..n-1.

    Same stream as `np.random.seed(seed); np.random.shuffle(idx)`, without touching the global state.
    """
    idx = np.arange(n)
    np.random.RandomState(seed).shuffle(idx)
    return idx


def check_lengths(pairs, max_len: int, vocab: Vocab, path="") -> None:
    """Raise ValueError naming `path:line` of the first question or answer longer than `max_len` tokens."""
    for i, (q, a) in enumerate(pairs, 1):
        for what, text in (("question", q), ("answer", a)):
            n = len(vocab.tokens(text))
            if n > max_len:
                unit = "characters" if vocab.level == "char" else "words"
                raise ValueError(
                    f"{path or 'pairs'}:{i}: the {what} has {n} {unit}, over the maximum length {max_len} "
                    f"(raise max_len if it is meant to be that long)"
                )


def to_arrays(pairs, vocab: Vocab | None = None, level: str = "char"):
    """Pairs of strings -> (questions (N, Tq), answers (N, Ta), vocab); short ones are padded with `vocab.pad`.

    A vocabulary built here gets the padding token after the data's own tokens when some text needs
    padding and the data never uses it (a file without spaces whose lines differ in length).
    """
    pairs = list(pairs)
    if vocab is None:
        vocab = Vocab.from_pairs(pairs, level=level)
        for texts in ([q for q, _ in pairs], [a for _, a in pairs]):
            if len({len(vocab.tokens(s)) for s in texts}) > 1:
                vocab.add([vocab.pad])
    x = vocab.encode_batch([q for q, _ in pairs])
    t = vocab.encode_batch([a for _, a in pairs])
    return x, t, vocab


def split_pairs(
    pairs, split="book", test_fraction: float = 0.1, seed: int = BOOK_SEED, name: str = "", level: str = "char"
) -> PairData:
    """Encode pairs (char or word tokens) and split them into train and test.

    `split="book"`: the book's split (legacy shuffle with `seed`, last tenth is the test set);
    `split="none"`: everything in file order is training data, no test set.
    """
    pairs = list(pairs)
    check_not_empty(pairs, level, name or "pairs")
    x, t, vocab = to_arrays(pairs, level=level)
    n = len(x)
    if split == "book":
        perm = book_permutation(n, seed)
        x, t = x[perm], t[perm]
        cut = n - (n // 10 if test_fraction == 0.1 else int(round(n * test_fraction)))
    elif split == "none":
        cut = n
    else:
        raise ValueError(f"split must be 'book' or 'none', got {split!r}")
    return PairData(x[:cut], t[:cut], x[cut:], t[cut:], vocab, name)


def load_pairs(
    path,
    split="book",
    test_fraction: float = 0.1,
    seed: int = BOOK_SEED,
    level: str = "char",
    max_len: int | None = None,
) -> PairData:
    """Read a file in the book's format (question, `_`, answer per line) and split it (default: the book's split).

    `path` is a file or a packaged dataset (`"book:addition"`, `"book:date"`; see `DATASETS`).
    `level` picks char or word tokens; with `max_len`, a line whose question or answer has more
    tokens raises ValueError naming the file and line, instead of padding every example to it.
    A file whose questions (or answers) are all empty raises ValueError naming the file.
    """
    if is_dataset_name(path):
        where = path
        name = dataset_stem(path)
    else:
        where = os.fspath(path)
        name = os.path.splitext(os.path.basename(where))[0]
    pairs = read_pairs(path)
    check_not_empty(pairs, level, where)
    if max_len is not None:
        check_lengths(pairs, max_len, Vocab(level=level), where)
    return split_pairs(pairs, split=split, test_fraction=test_fraction, seed=seed, name=name, level=level)


__all__ = [
    "PAD",
    "START",
    "PairData",
    "read_pairs",
    "book_permutation",
    "check_lengths",
    "check_not_empty",
    "to_arrays",
    "split_pairs",
    "load_pairs",
]
