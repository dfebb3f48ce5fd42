"""The book's two datasets as the package ships them: their bytes, format, vocabulary and train/test split.

The facts checked here (hashes, sizes, vocabulary order, the permutation) are those of docs/data.md.
"""

import hashlib
from importlib import resources

import numpy as np
import pytest

from tinygrad_attn import data as D

SHA256 = {
    "addition.txt": "34e0746f5014c11311c9452ee9050bf14e38eca44ec4aaf4d81eba2b38674009",
    "date.txt": "62e66a301ce8537868e725512d2a45663fc366526b7e42028cb703bda2b1c79a",
}


def _packaged(name):
    return resources.files("tinygrad_attn.data").joinpath("book", name)


@pytest.mark.parametrize("name", sorted(SHA256))
def test_the_packaged_files_are_the_books_unchanged(name):
    raw = _packaged(name).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SHA256[name]
    assert raw.count(b"\n") == 50000 and raw.endswith(b"\n") and b"\r" not in raw


def test_the_licence_and_credit_ship_beside_the_data():
    text = _packaged("LICENSE").read_text(encoding="utf-8")
    for needle in ("Copyright (c) 2018 Koki Saitoh", "MIT License", "Deep Learning from Scratch 2",
                   "oreilly-japan/deep-learning-from-scratch-2", "addition.txt", "date.txt"):  # fmt: skip
        assert needle in text


def test_dataset_names_are_listed():
    assert list(D.DATASETS) == ["book:addition", "book:date"]


def test_book_permutation_facts():
    """The legacy Mersenne Twister stream seeded with 1984 (no file needed)."""
    p = D.book_permutation(50000)
    assert p[:5].tolist() == [21921, 48929, 19568, 37778, 32165]
    assert p[45000:45005].tolist() == [27156, 41538, 82, 40944, 36174]
    state = np.random.get_state()[1].copy()
    D.book_permutation(10)
    assert (np.random.get_state()[1] == state).all()  # the global generator is left alone


def test_addition_file_vocab_and_split():
    d = D.load_pairs("book:addition")
    assert d.name == "addition"
    assert "".join(d.vocab.itos) == "16+75 _92038" + "4"
    assert d.vocab.stoi[" "] == 5 and d.vocab.start_id == 6
    assert d.x_train.shape == (45000, 7) and d.t_train.shape == (45000, 5)
    assert d.x_test.shape == (5000, 7) and d.t_test.shape == (5000, 5)
    lines = _packaged("addition.txt").read_text().split("\n")
    first = lines[21921]
    assert d.vocab.decode(d.x_train[0]) + d.vocab.decode(d.t_train[0]) == first
    assert d.vocab.decode(d.x_test[0]) + d.vocab.decode(d.t_test[0]) == lines[27156]


def test_date_file_vocab_and_repeats():
    d = D.load_pairs("book:date")
    assert d.name == "date"
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


def test_a_packaged_dataset_reads_the_same_as_its_file(tmp_path):
    copy = tmp_path / "date.txt"
    copy.write_bytes(_packaged("date.txt").read_bytes())
    assert D.read_pairs("book:date") == D.read_pairs(copy)
    a, b = D.load_pairs("book:date", split="none"), D.load_pairs(copy, split="none")
    assert (a.x_train == b.x_train).all() and (a.t_train == b.t_train).all() and a.vocab == b.vocab


@pytest.mark.parametrize("name", ["book:xyz", "book:", "book:dates", "book:Date"])
def test_an_unknown_dataset_name_lists_the_known_ones(name):
    for fn in (D.load_pairs, D.read_pairs):
        with pytest.raises(ValueError, match=r"unknown dataset .*book:addition, book:date"):
            fn(name)


@pytest.mark.parametrize(
    "text,needle",
    [
        ("", r"empty.txt: the file is empty"),
        ("\n\n\n", r"empty.txt:1: an empty line"),
        ("_\n_\n", r"empty.txt: every question is empty"),
        ("_12\n_3 \n", r"empty.txt: every question is empty"),
        ("1+1_\n2+2_\n", r"empty.txt: every answer is empty"),
    ],
)
def test_a_file_without_questions_or_answers_is_an_error_naming_it(tmp_path, text, needle):
    f = tmp_path / "empty.txt"
    f.write_text(text)
    with pytest.raises(ValueError, match=needle):
        D.load_pairs(f)


def test_empty_words_count_as_empty_at_word_level(tmp_path):
    f = tmp_path / "spaces.txt"
    f.write_text("   _yes\n  _no\n")
    assert D.load_pairs(f, split="none").x_train.shape == (2, 3)  # characters: three spaces are a question
    with pytest.raises(ValueError, match="spaces.txt: every question is empty"):
        D.load_pairs(f, split="none", level="word")
    with pytest.raises(ValueError, match="every answer is empty"):
        D.split_pairs([("a b", "_"), ("c", "_ ")], split="none", level="word")


def test_a_file_without_spaces_is_padded_with_a_space_added_last_to_the_vocabulary(tmp_path):
    f = tmp_path / "capitals.txt"
    f.write_text("France_Paris\nJapan_Tokyo\nPeru_Lima\n")
    d = D.load_pairs(f, split="none")
    assert d.vocab.itos[-1] == " " and d.vocab.itos.count(" ") == 1  # after the data's own tokens
    assert d.x_train.shape == (3, 6) and d.vocab.decode(d.t_train[2]) == "_Lima "
    same = tmp_path / "same.txt"
    same.write_text("ab_cd\nba_dc\n")  # nothing to pad: the vocabulary is the data's
    assert " " not in D.load_pairs(same, split="none").vocab
