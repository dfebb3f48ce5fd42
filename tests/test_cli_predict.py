"""`tinygrad-attn predict` end to end: train --save on tiny data, then ask the checkpoint; every refusal is one line."""

import re

import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn.cli import main
from tinygrad_attn.commands.checkpoint import load_model

SMALL = ["--epochs", "1", "--batch-size", "16", "--hidden", "8", "--wordvec", "4", "--quiet", "--split", "none"]


def _run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def _sums(path, n=40, seed=0):
    """A small file in the book's format: `a+b` padded to 5, `_sum` padded to 4."""
    rng = np.random.default_rng(seed)
    lines = [f"{a}+{b}".ljust(5) + "_" + str(a + b).ljust(3) for a, b in rng.integers(0, 100, (n, 2))]
    path.write_text("\n".join(lines) + "\n")
    return lines


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One reversed attention model per module, trained for one tiny epoch with --split none."""
    d = tmp_path_factory.mktemp("ck")
    lines = _sums(d / "sums.txt")
    ck = d / "ck.npz"
    code = main(
        ["train", "--data", str(d / "sums.txt"), "--model", "attention", "--reverse", *SMALL, "--save", str(ck)]
    )
    assert code == 0
    return ck, lines


def test_predict_answers_as_train_decoded_the_same_question(trained, capsys):
    """Train prints its own greedy answers for the first examples; predict must agree (padding, reversal)."""
    ck, lines = trained
    code, out, err = _run(
        capsys,
        "train",
        "--data",
        str(ck.parent / "sums.txt"),
        "--model",
        "attention",
        "--reverse",
        *SMALL,
        "--init",
        str(ck),
        "--lr",
        "1e-12",
    )
    assert code == 0, err
    shown = re.findall(r"^  (?:ok |bad) '(.*)' -> '(.*)' \(want", out, flags=re.M)
    assert len(shown) == 3
    for question, answer in shown:
        code, out, err = _run(capsys, "predict", "--checkpoint", str(ck), question.rstrip())
        assert code == 0, err
        assert out.splitlines() == [answer.rstrip()]
        assert set(answer) <= set("0123456789+_ ")


def test_checkpoint_carries_vocabulary_and_settings(trained):
    ck, lines = trained
    model, meta = load_model(ck)
    assert isinstance(model, ta.nn.AttentionSeq2Seq) and meta["model"] == "attention" and meta["reverse"] is True
    assert set(meta["vocab"].itos) == set("".join(lines)) and meta["question_len"] == 5 and meta["answer_len"] == 4
    assert meta["settings"]["hidden_size"] == 8 and not model.training
    assert set(ta.load(ck)) == {n for n, _ in model.named_parameters()}  # the metadata is not a weight


def test_plot_draws_the_attention_of_the_question(trained, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    ck, _ = trained
    png = tmp_path / "att.png"
    code, out, err = _run(capsys, "predict", "--checkpoint", str(ck), "12+34", "--plot", str(png))
    assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"wrote {png}" in out


@pytest.mark.parametrize(
    "question,extra,needle",
    [
        ("12*34", [], r"characters \['\*'\] of the question are not in the model's vocabulary"),
        ("123456", [], "the question has 6 characters; this model was trained on at most 5"),
        ("1+2", ["--plot", "no/such/dir/a.png"], "does not exist"),
    ],
)
def test_questions_that_do_not_fit_give_one_line(trained, capsys, question, extra, needle):
    ck, _ = trained
    code, out, err = _run(capsys, "predict", "--checkpoint", str(ck), question, *extra)
    assert code == 2 and len(err.strip().splitlines()) == 1 and re.search(needle, err), err


def test_checkpoints_without_settings_or_broken_give_one_line(tmp_path, capsys):
    plain = tmp_path / "plain.npz"
    ta.save({"w": np.ones(2)}, plain)
    code, out, err = _run(capsys, "predict", "--checkpoint", str(plain), "1+2")
    assert code == 2 and "no vocabulary or model settings" in err and len(err.strip().splitlines()) == 1
    ta.save({"w": np.ones(2)}, plain, metadata={"format": "tinygrad-attn seq2seq checkpoint", "version": 1})
    code, out, err = _run(capsys, "predict", "--checkpoint", str(plain), "1+2")
    assert code == 2 and "malformed model settings" in err
    plain.write_bytes(b"PK\x03\x04 not really")
    code, out, err = _run(capsys, "predict", "--checkpoint", str(plain), "1+2")
    assert code == 2 and "truncated or corrupt" in err
    code, out, err = _run(capsys, "predict", "1+2")
    assert code == 2 and "--checkpoint" in err


def test_a_seq2seq_checkpoint_answers_but_has_no_attention_to_plot(tmp_path, capsys):
    _sums(tmp_path / "s.txt", n=20)
    ck = tmp_path / "s.npz"
    assert _run(capsys, "train", "--data", str(tmp_path / "s.txt"), *SMALL, "--save", str(ck))[0] == 0
    code, out, err = _run(capsys, "predict", "--checkpoint", str(ck), "1+2")
    assert code == 0 and len(out.splitlines()) == 1 and len(out.strip()) <= 3
    code, out, err = _run(capsys, "predict", "--checkpoint", str(ck), "1+2", "--plot", str(tmp_path / "a.png"))
    assert code == 2 and "has no attention" in err and not (tmp_path / "a.png").exists()


def test_a_checkpoint_refuses_another_vocabulary_naming_both(trained, tmp_path, capsys):
    """Same characters in another order (same size): loads silently without the check, scores near zero."""
    ck, lines = trained
    swapped = tmp_path / "swapped.txt"
    first = lines[0][0]
    other = "7" if first != "7" else "3"
    table = str.maketrans({first: other, other: first})
    swapped.write_text("\n".join(line.translate(table) for line in lines) + "\n")
    code, out, err = _run(
        capsys, "train", "--data", str(swapped), "--model", "attention", "--reverse", *SMALL, "--init", str(ck)
    )
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "vocabulary differs" in err and "the checkpoint has" in err and "the data has" in err
    assert f"id 0: {first!r} vs {other!r}" in err
    assert "epoch" not in out


def test_init_refuses_other_model_settings(trained, capsys):
    ck, _ = trained
    code, out, err = _run(
        capsys,
        "train",
        "--data",
        str(ck.parent / "sums.txt"),
        "--model",
        "attention",
        "--reverse",
        *SMALL,
        "--hidden",
        "12",
        "--init",
        str(ck),
    )
    assert code == 2 and "hidden_size: 8 in the checkpoint, 12 here" in err
    code, out, err = _run(
        capsys, "train", "--data", str(ck.parent / "sums.txt"), "--model", "attention", *SMALL, "--init", str(ck)
    )
    assert code == 2 and "trained with --reverse" in err


def test_word_level_model_answers_with_a_word(tmp_path, capsys):
    f = tmp_path / "who.txt"
    names = ["Tom", "Mary", "Ann"]
    f.write_text("".join(f"{a} met {b} . who met {b} ?_{a}\n" for a in names for b in names if a != b))
    ck = tmp_path / "w.npz"
    code, out, err = _run(capsys, "train", "--data", str(f), "--level", "word", *SMALL, "--save", str(ck))
    assert code == 0 and "words" in out.splitlines()[0], err
    code, out, err = _run(capsys, "predict", "--checkpoint", str(ck), "Ann met Tom . who met Tom ?")
    assert code == 0, err
    vocab = load_model(ck)[1]["vocab"]
    assert vocab.level == "word" and all(w in vocab for w in out.split())
    code, out, err = _run(capsys, "predict", "--checkpoint", str(ck), "Bob met Tom . who met Tom ?")
    assert code == 2 and "words ['Bob']" in err


def _untrained(path, chars, kind="attention"):
    """An untrained checkpoint of `kind` over the characters `chars` (question 5, answer 4)."""
    from tinygrad_attn.commands.checkpoint import build_model, model_settings, save_checkpoint
    from tinygrad_attn.data import Vocab

    vocab = Vocab(chars)
    settings = model_settings(kind, len(vocab), 5, 4, 8, 4)
    ta.seed(0)
    save_checkpoint(path, build_model(kind, settings), kind, settings, vocab, 5, 4)
    return path


@pytest.mark.parametrize("question", ["$^$", "1$$2", "$\\$", "_$"])
def test_plot_draws_dollar_signs_as_text_not_mathtext(tmp_path, capsys, question):
    """`$...$` in a title or tick label is mathtext to matplotlib: `$$` or `$^$` raised from its parser."""
    pytest.importorskip("matplotlib")
    ck = _untrained(tmp_path / "d.npz", "0123456789+_ $^\\")
    png = tmp_path / "d.png"
    code, out, err = _run(capsys, "predict", "--checkpoint", str(ck), question, "--plot", str(png))
    assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.splitlines()[-1] == f"wrote {png}"


def test_plot_labels_keep_the_dollar_sign():
    from tinygrad_attn.commands.predict import plain_text

    assert plain_text("$^$") == r"\$^\$" and plain_text("a b") == "a b"
