"""A data file whose questions (or answers) are all empty is refused by the loader, naming the file.

Before, `load_pairs` returned (N, 0) questions and `train` died in the LSTM ("input of shape (3, 0, 16)").
"""

import pytest

from tinygrad_attn.cli import main
from tinygrad_attn.data import load_pairs


@pytest.mark.parametrize(
    "text,level,needle",
    [
        ("_1\n_2\n_3\n", "char", "every question is empty (nothing before '_' on any line)"),
        ("_\n_\n_\n", "char", "every question is empty"),
        ("1_\n2_\n3_\n", "char", "every answer is empty (nothing after '_' on any line)"),
        ("   _Tom\n _Ann\n", "word", "every question is empty (nothing before '_' on any line)"),
        ("who ?_\nwho ?_   \n", "word", "every answer is empty (nothing after '_' on any line)"),
    ],
)
def test_all_empty_questions_or_answers_are_refused_naming_the_file(tmp_path, text, level, needle):
    path = tmp_path / "empty.txt"
    path.write_text(text)
    with pytest.raises(ValueError, match=rf"^{path}: ") as info:
        load_pairs(path, split="none", level=level)
    assert needle in str(info.value)


def test_some_empty_questions_are_fine(tmp_path):
    path = tmp_path / "some.txt"
    path.write_text("_1 \n2_3\n")  # the space: padding is an ordinary token the data must contain
    d = load_pairs(path, split="none")
    assert d.x_train.shape == (2, 1) and d.t_train.shape == (2, 3)


@pytest.mark.parametrize("model", ["seq2seq", "transformer"])
def test_train_on_an_all_empty_file_gives_one_line(tmp_path, capsys, model):
    path = tmp_path / "empty.txt"
    path.write_text("_\n_\n_\n")
    code = main(["train", "--data", str(path), "--model", model, "--epochs", "1", "--split", "none", "--quiet"])
    out, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"{path}: every question is empty" in err
