"""Word and char vocabularies, their JSON description and differences; the file loader's hardening."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_attn import data as D

TOM = "Tom was watching TV in his room . Mary came into the room . Mary said hi to ?"


def test_word_vocab_splits_on_whitespace_and_splits_off_the_start_token():
    v = D.Vocab.from_pairs([(TOM, "_Tom")], level="word")
    assert v.tokens(TOM)[:3] == ["Tom", "was", "watching"] and v.tokens("_Tom") == ["_", "Tom"]
    assert v.tokens("_ Tom  said\thi") == ["_", "Tom", "said", "hi"]
    assert len(v) == len(set(TOM.split())) + 1  # the words and "_"
    ids = v.encode(TOM)
    assert ids.shape == (len(TOM.split()),) and v.decode(ids) == TOM
    batch = v.encode_batch(["Mary said hi", "Tom"])
    assert batch.shape == (2, 3) and batch[1, 1:].tolist() == [v.pad_id] * 2 and v.pad == "<pad>"
    assert v.decode(batch[1], strip=True) == "Tom" and v.decode(batch[1]) == "Tom <pad> <pad>"
    with pytest.raises(KeyError, match="word 'Bob'"):
        v.encode("Bob said hi")
    with pytest.raises(KeyError, match="word 'Bob'"):
        v.encode_batch(["Bob said hi"])
    with pytest.raises(ValueError, match="has 3 words, over width 2"):
        v.encode_batch(["Mary said hi"], width=2)


def test_bad_levels_and_specials_are_refused():
    with pytest.raises(ValueError, match="level must be one of"):
        D.Vocab(level="byte")
    with pytest.raises(ValueError, match="without spaces"):
        D.Vocab(pad="a b", level="word")
    with pytest.raises(ValueError, match="single characters"):
        D.Vocab(pad="<pad>")


@given(
    tokens=st.lists(st.text(min_size=1, max_size=3), unique=True, max_size=8),
    level=st.sampled_from(["char", "word"]),
)
def test_to_dict_round_trips_ids(tokens, level):
    v = D.Vocab(level=level).add(tokens)
    w = D.Vocab.from_dict(v.to_dict())
    assert w == v and w.itos == v.itos and w.level == level and v.difference(w) is None


def test_difference_names_both_and_the_first_positions():
    a, b = D.Vocab("0123+_ "), D.Vocab("1023+_ ")
    msg = a.difference(b, "checkpoint", "data")
    assert "checkpoint has 7 tokens '0123+_ '" in msg and "data has 7 tokens '1023+_ '" in msg
    assert "2 ids differ (id 0: '0' vs '1', id 1: '1' vs '0')" in msg
    msg = D.Vocab("ab").difference(D.Vocab("abc"), "checkpoint", "data")
    assert "only in data: c" in msg
    assert "word-level" in D.Vocab("ab").difference(D.Vocab(level="word"), "x", "y")
    with pytest.raises(ValueError, match="not distinct"):
        D.Vocab.from_dict({"tokens": ["a", "a"], "pad": " ", "start": "_"})
    with pytest.raises(ValueError, match="need tokens"):
        D.Vocab.from_dict({"pad": " "})


def test_a_utf8_bom_is_not_a_token(tmp_path):
    f = tmp_path / "bom.txt"
    f.write_bytes("\ufeff1+2_3\n4+5_9\n".encode())
    pairs = D.read_pairs(f)
    assert pairs == [("1+2", "_3"), ("4+5", "_9")]
    assert "\ufeff" not in D.load_pairs(f, split="none").vocab


def test_max_len_names_the_file_and_line_of_the_long_example(tmp_path):
    f = tmp_path / "long.txt"
    f.write_text("1+2_3\n" + "9" * 100_000 + "_9\n4+5_9\n")
    with pytest.raises(ValueError, match=r"long.txt:2: the question has 100000 characters, over the maximum length 50"):
        D.load_pairs(f, max_len=50)
    f.write_text("a b_c\nx y z_w v u\n")
    with pytest.raises(ValueError, match=r"long.txt:2: the answer has 4 words, over the maximum length 3"):
        D.load_pairs(f, level="word", max_len=3)
    d = D.load_pairs(f, level="word", max_len=4, split="none")
    assert d.x_train.shape == (2, 3) and d.t_train.shape == (2, 4) and len(d.x_test) == 0


def test_word_level_file_encodes_sentences(tmp_path):
    f = tmp_path / "tom.txt"
    f.write_text(f"{TOM}_Tom\nMary said hi to Tom ?_Mary\n")
    d = D.load_pairs(f, level="word", split="none")
    assert d.vocab.level == "word" and d.x_train.shape == (2, len(TOM.split()))
    assert (
        d.vocab.decode(d.t_train[0]) == "_ Tom" and d.vocab.decode(d.x_train[1], strip=True) == "Mary said hi to Tom ?"
    )
    assert np.all(d.t_train[:, 0] == d.vocab.start_id)
