"""The datasets that ship inside the package: the book's two files, named `book:addition` and `book:date`.

Wherever a data file is taken (`load_pairs`, `read_pairs`, `tinygrad-attn train --data`), such a
name stands for the packaged file, from any folder; any other string is a path. The files, their
source and their MIT licence are in the folder `book/` beside this module (see docs/data.md).
"""

from __future__ import annotations

from importlib import resources

PREFIX = "book:"
DATASETS = {"book:addition": "addition.txt", "book:date": "date.txt"}  # name -> file in book/


def is_dataset_name(source) -> bool:
    """True for a string that names a packaged dataset (`book:...`), known or not."""
    return isinstance(source, str) and source.startswith(PREFIX)


def dataset_file(name: str):
    """The packaged file of `name` (an importlib.resources Traversable: `.open()`, `.read_text()`).

    An unknown name raises ValueError listing the names there are.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; the package ships {', '.join(DATASETS)}")
    return resources.files(__package__).joinpath("book", DATASETS[name])


def dataset_stem(name: str) -> str:
    """The short name of a dataset (`book:date` -> `date`), used in titles and progress lines."""
    return name[len(PREFIX) :]
