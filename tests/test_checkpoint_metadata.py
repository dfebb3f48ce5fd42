"""A checkpoint's metadata is checked against its weights and sane limits before any model is built.

Each hostile variant is a real checkpoint (a small model's weights) whose JSON metadata was edited:
`load_model` must refuse it with a CheckpointError naming the setting, without allocating what it
asks for, and `predict` must print one line and exit 2.
"""

import copy
import re
import time
import tracemalloc

import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn.cli import main
from tinygrad_attn.commands.checkpoint import MAX_SEQUENCE, build_model, load_model, model_settings, save_checkpoint
from tinygrad_attn.data import Vocab
from tinygrad_attn.io import CheckpointError

CHARS = "0123456789+_ "


def _checkpoint(path, kind="attention", cell="lstm", score="dot", level="char"):
    """A small untrained checkpoint of `kind`: question 5, answer 4 tokens, hidden 8, wordvec 4, 2 layers."""
    if level == "char":
        vocab = Vocab(CHARS)
    else:
        vocab = Vocab(pad="<pad>", level="word")
        vocab.add(["<pad>", "_", "Tom", "met", "Ann", "?"])
    settings = model_settings(kind, len(vocab), 5, 4, 8, 4, cell, score, 2, 2)
    ta.seed(0)
    save_checkpoint(path, build_model(kind, settings), kind, settings, vocab, 5, 4, reverse=False)
    return path


def _edited(tmp_path, edit, kind="attention", **kw):
    """The checkpoint of `kind` with `edit(meta)` applied to its metadata (same weights)."""
    good = _checkpoint(tmp_path / f"good_{kind}.npz", kind, **kw)
    state, meta = ta.io.read_checkpoint(good)
    meta = copy.deepcopy(meta)
    edit(meta)
    path = tmp_path / "edited.npz"
    ta.save(state, path, metadata=meta)
    return path


def _set(**changes):
    return lambda m: m["settings"].update(changes)


def _top(**changes):
    return lambda m: m.update(changes)


def _vocab(**changes):
    return lambda m: m["vocab"].update(changes)


def _token(i, tok):
    return lambda m: m["vocab"]["tokens"].__setitem__(i, tok)


HOSTILE = [
    # (id, model kind, edit, message): sizes that disagree with the weights
    ("hidden 60000", "attention", _set(hidden_size=60000), r"hidden_size: 60000 .* weights say 8 \(encoder.W_h"),
    ("hidden seq2seq", "seq2seq", _set(hidden_size=60000), r"hidden_size: 60000 .* weights say 8"),
    ("wordvec", "peeky", _set(wordvec_size=10**6), r"wordvec_size: 1000000 .* weights say 4 \(src_embed.W"),
    ("vocab size", "attention", _set(vocab_size=10**7), r"vocab_size: 10000000 .* weights say 13"),
    ("d_model", "transformer", _set(d_model=60000), r"d_model: 60000 .* weights say 8 \(src_embed.W"),
    ("layers", "transformer", _set(n_layers=10**6), r"n_layers: 1000000 .* weights say 2 \(encoder.0 to encoder.1\)"),
    ("heads", "transformer", _set(n_heads=3), r"n_heads 3 does not divide d_model 8"),
    # lengths over the limit, or that the model cannot take
    ("max_len", "attention", _set(max_len=10**10), rf"max_len 10000000000 is over the limit of {MAX_SEQUENCE}"),
    ("max_len tf", "transformer", _set(max_len=10**10), rf"max_len 10000000000 is over the limit of {MAX_SEQUENCE}"),
    ("max_len short", "transformer", _set(max_len=3), r"max_len 3 is shorter than the question \(5\)"),
    ("answer_len", "attention", _top(answer_len=10**10), r"answer_len 10000000000 is over the limit"),
    ("question_len 0", "seq2seq", _top(question_len=0), r"question_len must be a positive integer, got 0"),
    ("question_len str", "seq2seq", _top(question_len="5"), r"question_len must be a positive integer, got '5'"),
    ("answer_len bool", "seq2seq", _top(answer_len=True), r"answer_len must be a positive integer, got True"),
    ("hidden float", "seq2seq", _set(hidden_size=8.0), r"hidden_size must be a positive integer, got 8.0"),
    ("reverse", "seq2seq", _top(reverse="yes"), r"reverse must be true or false, got 'yes'"),
    # settings that are not the model's
    ("extra key", "transformer", _set(d_ff=10**9), r"settings \['d_ff'\] are not transformer settings"),
    ("missing key", "attention", lambda m: m["settings"].pop("max_len"), r"missing settings \['max_len'\]"),
    ("cell", "seq2seq", _set(cell="xyz"), r"cell 'xyz' is not one of \['gru', 'lstm', 'rnn'\]"),
    ("score", "attention", _set(score="nope"), r"score 'nope' is not one of \[.*'dot'"),
    ("model", "attention", _top(model="evil"), r"model 'evil' is not one of"),
    ("peeky", "seq2seq", _set(peeky=True), r"peeky must be False for a seq2seq model"),
    ("settings list", "seq2seq", _top(settings=[1, 2]), r"settings must be a JSON object"),
    # vocabularies the encoder cannot use
    ("two chars", "attention", _token(0, "ab"), r"token 'ab' .* not one character"),
    ("empty token", "attention", _token(0, ""), r"token '' .* not one character"),
    ("word with space", "attention", _token(2, "T m"), r"token 'T m' .* not a word"),
    ("start missing", "attention", _vocab(start="="), r"start token '=' is not in the vocabulary"),
    ("pad two chars", "attention", _vocab(pad="  "), r"vocabulary is malformed \(Vocab: pad '  '"),
    ("tokens repeat", "attention", _token(0, "1"), r"not distinct"),
    ("vocab 14", "attention", lambda m: m["vocab"]["tokens"].append("x"), r"vocabulary has 14 tokens but .* 13"),
]


@pytest.mark.parametrize("kind,edit,needle", [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_metadata_is_refused_before_building_anything(tmp_path, kind, edit, needle):
    level = "word" if "word" in needle else "char"
    path = _edited(tmp_path, edit, kind, level=level)
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(CheckpointError, match=needle) as info:
            load_model(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(path) in str(info.value)
    assert peak < 16 << 20 and time.perf_counter() - t0 < 5.0, peak


@pytest.mark.parametrize("name", ["hidden 60000", "max_len tf", "two chars", "answer_len", "extra key", "d_model"])
def test_predict_prints_one_line_for_hostile_metadata(tmp_path, capsys, name):
    _, kind, edit, needle = next(h for h in HOSTILE if h[0] == name)
    path = _edited(tmp_path, edit, kind)
    code = main(["predict", "--checkpoint", str(path), "1+2"])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert err.startswith("tinygrad-attn predict: error: ") and re.search(needle, err), err


RECURRENT = [(k, c) for k in ("seq2seq", "peeky", "attention") for c in ("lstm", "gru", "rnn")]


@pytest.mark.parametrize("kind,cell", [*RECURRENT, ("transformer", "")])
def test_every_model_and_cell_written_by_save_checkpoint_loads(tmp_path, kind, cell):
    """The checks refuse nothing `save_checkpoint` writes (attention with the `location` score: max_len weights)."""
    path = _checkpoint(tmp_path / "c.npz", kind, cell=cell, score="location" if kind == "attention" else "dot")
    model, meta = load_model(path)
    state = ta.load(path)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, state[k])
    assert meta["question_len"] == 5 and meta["answer_len"] == 4


def test_a_word_level_checkpoint_loads(tmp_path):
    model, meta = load_model(_checkpoint(tmp_path / "w.npz", "seq2seq", level="word"))
    assert meta["vocab"].level == "word" and "Tom" in meta["vocab"]


def test_a_pad_token_outside_the_vocabulary_loads_but_padding_is_refused_in_one_line(tmp_path, capsys):
    """Training data of equal-length lines never needs the pad token: such a checkpoint is real."""
    path = _edited(tmp_path, _vocab(pad="Z"))
    model, meta = load_model(path)
    assert "Z" not in meta["vocab"]
    code = main(["predict", "--checkpoint", str(path), "1+2"])
    out, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "the question has 3 characters; this model was trained on exactly 5" in err
    assert "no padding token" in err and "'Z'" in err
    code = main(["predict", "--checkpoint", str(path), "12+34"])
    out, err = capsys.readouterr()
    assert code == 0 and len(out.splitlines()) == 1, err
    assert len(meta["vocab"]) == 13  # nothing was added to the vocabulary on the way


def test_equal_length_training_lines_give_a_checkpoint_predict_explains(tmp_path, capsys):
    """The real case behind the test above: `train` on lines that need no padding."""
    data = tmp_path / "eq.txt"
    data.write_text("12+34_46\n11+11_22\n10+10_20\n")
    ck = tmp_path / "eq.npz"
    flags = ["--epochs", "1", "--hidden", "8", "--quiet", "--split", "none"]
    assert main(["train", "--data", str(data), *flags, "--save", str(ck)]) == 0
    capsys.readouterr()
    assert main(["predict", "--checkpoint", str(ck), "1+2"]) == 2
    out, err = capsys.readouterr()
    assert "trained on exactly 5" in err and len(err.strip().splitlines()) == 1, err
