"""The book's format, vocabulary and train/test split, checked against shared/data/README.md."""

import hashlib
from pathlib import Path

import numpy as np
import pytest

from tinygrad_attn import data as D

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
needs_data = pytest.mark.skipif(not (DATA / "addition.txt").exists(), reason="shared/data is not beside the repo")


def test_book_permutation_facts():
    """The legacy Mersenne Twister stream seeded with 1984 (no file needed)."""
    p = D.book_permutation(50000)
    assert p[:5].tolist() == [21921, 48929, 19568, 37778, 32165]
    assert p[45000:45005].tolist() == [27156, 41538, 82, 40944, 36174]
    state = np.random.get_state()[1].copy()
    D.book_permutation(10)
    assert (np.random.get_state()[1] == state).all()  # the global generator is left alone


@needs_data
def test_addition_file_vocab_and_split():
    d = D.load_pairs(DATA / "addition.txt")
    assert "".join(d.vocab.itos) == "16+75 _92038" + "4"
    assert d.vocab.stoi[" "] == 5 and d.vocab.start_id == 6
    assert d.x_train.shape == (45000, 7) and d.t_train.shape == (45000, 5)
    assert d.x_test.shape == (5000, 7) and d.t_test.shape == (5000, 5)
    lines = (DATA / "addition.txt").read_text().split("\n")
    first = lines[21921]
    assert d.vocab.decode(d.x_train[0]) + d.vocab.decode(d.t_train[0]) == first
    assert d.vocab.decode(d.x_test[0]) + d.vocab.decode(d.t_test[0]) == lines[27156]


@needs_data
def test_date_file_vocab_and_repeats():
    path = DATA / "date.txt"
    assert hashlib.sha256(path.read_bytes()).hexdigest().startswith("62e66a30")
    d = D.load_pairs(path)
    assert len(d.vocab) == 59 and "".join(d.vocab.itos[:15]) == "septmbr 27,194_"
    assert d.x_train.shape == (45000, 29) and d.t_test.shape == (5000, 11)
    train = {tuple(r) for r in np.concatenate([d.x_train, d.t_train], 1).tolist()}
    test = [tuple(r) for r in np.concatenate([d.x_test, d.t_test], 1).tolist()]
    assert sum(r in train for r in test) == 1405  # the file repeats lines; the book's split keeps them


def test_load_pairs_small_file_and_errors(tmp_path):
    f = tmp_path / "tiny.txt"
    f.write_text("1+1  _2  \n12+3 _15 \n")
    d = D.load_pairs(f, split="none")
    assert d.x_train.shape == (2, 5) and d.x_test.shape == (0, 5)
    assert D.read_pairs(f)[1] == ("12+3 ", "_15 ")
    bad = tmp_path / "bad.txt"
    bad.write_text("1+1 2\n")
    with pytest.raises(ValueError, match=r"bad.txt:1: no '_'"):
        D.load_pairs(bad)
    with pytest.raises(OSError):
        D.load_pairs(tmp_path / "missing.txt")
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\xff\xfe\x00_1\n")
    with pytest.raises(ValueError, match="not a text file"):
        D.load_pairs(binary)
    with pytest.raises(ValueError, match="split"):
        D.load_pairs(f, split="random")
