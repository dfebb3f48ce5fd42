"""Seq2seq data: the book's two datasets, generated toy tasks, the book's text format and split, a Vocab, batching.

`load_pairs("book:date")` and `load_pairs("book:addition")` read the book's files, which ship with
the package (`DATASETS`; source and licence in docs/data.md); `load_pairs(path)` reads your own.

Everything is in the book's layout: a question padded with spaces, an answer that starts with the
start token `_` (the decoder reads `t[:, :-1]` and predicts `t[:, 1:]`). This package knows no models.
"""

from .batching import batches, num_batches
from .packaged import DATASETS
from .pairs import (
    BOOK_SEED,
    PairData,
    book_permutation,
    check_lengths,
    check_not_empty,
    load_pairs,
    read_pairs,
    split_pairs,
    to_arrays,
)
from .tasks import TASKS, addition, dates, recall, reversal
from .vocab import PAD, START, Vocab

__all__ = [
    "Vocab",
    "PAD",
    "START",
    "PairData",
    "load_pairs",
    "read_pairs",
    "split_pairs",
    "to_arrays",
    "check_lengths",
    "check_not_empty",
    "DATASETS",
    "book_permutation",
    "BOOK_SEED",
    "addition",
    "dates",
    "reversal",
    "recall",
    "TASKS",
    "batches",
    "num_batches",
]
