"""`tinygrad-attn train` end to end on tiny tasks: output, metrics JSON format, checkpoints, one-line errors."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn.cli import main
from tinygrad_attn.commands.train import check_output_path

TINY = ["--train-size", "64", "--test-size", "16", "--batch-size", "32", "--hidden", "8", "--wordvec", "4", "--quiet"]


def _run(capsys, *argv):
    try:
        code = main(["train", *argv])
    except SystemExit as e:  # argparse rejects a flag
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def test_train_tiny_task_writes_metrics_and_weights(tmp_path, capsys):
    metrics, weights = tmp_path / "m.json", tmp_path / "w.npz"
    code, out, err = _run(
        capsys, "--task", "addition", "--epochs", "2", *TINY, "--metrics-json", str(metrics), "--save", str(weights)
    )
    assert code == 0, err
    assert "epoch   1" in out and "epoch   2" in out and "test acc" in out
    doc = json.loads(metrics.read_text())
    assert list(doc) == ["epochs"] and [e["epoch"] for e in doc["epochs"]] == [1, 2]
    for e in doc["epochs"]:
        assert set(e) == {"epoch", "train_loss", "test_accuracy", "seconds"}
        assert 0.0 <= e["test_accuracy"] <= 1.0 and e["seconds"] > 0 and np.isfinite(e["train_loss"])
    assert doc["epochs"][1]["train_loss"] < doc["epochs"][0]["train_loss"]
    state = ta.load(weights)
    model = ta.nn.Seq2Seq(13, 4, 8)
    model.load_state_dict(state)


@pytest.mark.parametrize(
    "flags",
    [
        ["--model", "peeky", "--reverse", "--cell", "gru"],
        ["--model", "attention", "--score", "dot"],
        ["--model", "transformer", "--heads", "2", "--layers", "1"],
    ],
)
def test_each_model_trains_one_epoch(flags, capsys):
    needs = {"attention": "Attention", "transformer": "TransformerDecoderLayer"}.get(flags[1])
    if needs and not hasattr(ta.nn, needs):
        pytest.skip(f"ta.nn.{needs} is not there yet")
    code, out, err = _run(capsys, "--task", "reversal", "--epochs", "1", *TINY, *flags)
    assert code == 0, err
    assert "test acc" in out


def test_book_format_file_with_the_book_split(tmp_path, capsys):
    f = tmp_path / "sums.txt"
    rng = np.random.default_rng(0)
    pairs = {(int(a), int(b)) for a, b in rng.integers(0, 100, (60, 2))}
    f.write_text("".join(f"{a}+{b}".ljust(5) + "_" + str(a + b).ljust(3) + "\n" for a, b in sorted(pairs)))
    code, out, err = _run(capsys, "--data", str(f), "--epochs", "1", "--batch-size", "16", "--hidden", "8", "--quiet")
    assert code == 0, err
    n = len(pairs)
    assert f"{n - n // 10} train / {n // 10} test" in out


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["--data", "no/such/file.txt"], "No such file"),
        (["--data", "."], "directory"),
        (["--task", "addition", "--epochs", "0"], "--epochs"),
        (["--task", "addition", "--model", "lstm9"], "--model"),
        (["--task", "nonsense"], "--task"),
        (["--task", "addition", "--data", "x.txt"], "not allowed"),
        (["--epochs", "1"], "required"),
        (["--task", "addition", "--metrics-json", "no/such/dir/m.json"], "does not exist"),
        (["--task", "addition", "--train-size", "1000000000"], "distinct"),
        (
            ["--task", "addition", "--lr-schedule", "cosine", "--decay-start", "1.0"],
            "--decay-start 1.0: must be in [0, 1)",
        ),
        (["--task", "addition", "--decay-start", "0.5"], "--decay-start needs --lr-schedule cosine"),
        (["--task", "addition", "--lr-schedule", "linear"], "--lr-schedule"),
        (["--data", "book:xyz"], "unknown dataset 'book:xyz'; the package ships book:addition, book:date"),
        (["--data", "book:"], "the package ships book:addition, book:date"),
    ],
)
def test_bad_flags_and_files_give_one_line(argv, needle, capsys):
    code, out, err = _run(capsys, *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert needle in err and "Traceback" not in err


def test_bad_data_file_gives_one_line(tmp_path, capsys):
    f = tmp_path / "bad.txt"
    f.write_text("no separator here\n")
    code, out, err = _run(capsys, "--data", str(f))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "bad.txt:1" in err


@pytest.mark.parametrize(
    "text,needle",
    [("", "the file is empty"), ("_1\n_2\n", "every question is empty"), ("1_\n2_\n", "every answer is empty")],
)
def test_a_data_file_with_nothing_to_read_or_predict_is_one_line_naming_it(tmp_path, capsys, text, needle):
    f = tmp_path / "empty.txt"
    f.write_text(text)
    code, out, err = _run(capsys, "--data", str(f), "--epochs", "1", "--quiet")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert f"error: {f}: {needle}" in err and err.count(str(f)) == 1 and "Traceback" not in err


def test_the_books_addition_data_ships_with_the_package(capsys):
    flags = ["--epochs", "1", "--hidden", "8", "--wordvec", "4", "--batch-size", "1000", "--quiet"]
    code, out, err = _run(capsys, "--data", "book:addition", *flags)
    assert code == 0, err
    assert out.startswith("addition: 45000 train / 5000 test, vocab 13, seq2seq")
    assert "45 steps of 1000 per epoch" in out and "epoch   1" in out


def test_help_names_the_books_data_and_no_folder_beside_the_repository(capsys):
    code, out, err = _run(capsys, "--help")
    assert code == 0 and "--data book:addition" in out and "--data book:date" in out and "shared" not in out


def test_console_entry_point_runs_as_a_module(tmp_path):
    """The real process: exit status 2 and one stderr line, no traceback."""
    r = subprocess.run(
        [sys.executable, "-m", "tinygrad_attn", "train", "--data", str(tmp_path / "missing.txt")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_plot_writes_curves_and_heatmaps_or_says_why(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    code, out, err = _run(
        capsys, "--task", "dates", "--model", "attention", "--epochs", "1", *TINY, "--plot", str(tmp_path / "p")
    )
    assert code == 0, err
    try:
        from viz import plots  # noqa: F401
    except ImportError:
        assert "viz.plots is not available" in err
        return
    assert (tmp_path / "p" / "training_curves.png").stat().st_size > 0
    assert (tmp_path / "p" / "attention_0.png").stat().st_size > 0


@pytest.mark.parametrize(("train_size", "steps"), [("80", "2 steps of 32"), ("20", "1 step of 20")])
def test_epoch_drops_the_last_partial_batch_as_the_book_does(train_size, steps, capsys):
    flags = ["--train-size", train_size, "--test-size", "8", "--batch-size", "32", "--hidden", "8", "--wordvec", "4"]
    code, out, err = _run(capsys, "--task", "addition", "--epochs", "1", *flags, "--quiet")
    assert code == 0, err
    assert f"{steps} per epoch" in out.splitlines()[0]


def test_cosine_schedule_anneals_the_lr_to_zero_by_the_last_step(capsys):
    code, out, err = _run(
        capsys, "--task", "addition", "--epochs", "2", *TINY, "--lr", "0.01", "--lr-schedule", "cosine"
    )
    assert code == 0, err
    epochs = [line for line in out.splitlines() if line.startswith("epoch")]
    assert epochs[0].endswith("lr 5.00e-03") and epochs[1].endswith("lr 0.00e+00")
    code, out, err = _run(capsys, "--task", "addition", "--epochs", "1", *TINY)
    assert code == 0 and " lr " not in out  # the book's constant lr: nothing to show


def test_decay_start_holds_the_lr_until_then(capsys):
    argv = ["--task", "addition", "--epochs", "4", *TINY, "--lr", "0.01", "--lr-schedule", "cosine"]
    code, out, err = _run(capsys, *argv, "--decay-start", "0.5")  # 8 steps: 4 held, 4 decaying
    assert code == 0, err
    lrs = [line.split(" lr ")[1] for line in out.splitlines() if line.startswith("epoch")]
    assert lrs == ["1.00e-02", "1.00e-02", "5.00e-03", "0.00e+00"]


# ---- hardening: everything that can fail is checked before the first training step ----------


def _sums_file(path, n=30, prefix=""):
    rng = np.random.default_rng(0)
    path.write_bytes(
        (
            prefix + "".join(f"{a}+{b}".ljust(5) + f"_{a + b}".ljust(4) + "\n" for a, b in rng.integers(0, 100, (n, 2)))
        ).encode()
    )
    return path


@pytest.mark.parametrize(
    "flag,value,needle",
    [
        ("--save", "{tmp}/missing/w.npz", "does not exist"),
        ("--save", "{tmp}", "is a directory, not a file"),
        ("--metrics-json", "{tmp}/missing/m.json", "does not exist"),
        ("--plot", "{tmp}/a_file", "exists and is not a directory"),
        ("--plot", "{tmp}/missing/deeper", "does not exist"),
    ],
)
def test_output_paths_are_checked_before_the_first_step(tmp_path, capsys, flag, value, needle):
    (tmp_path / "a_file").write_text("x")
    code, out, err = _run(capsys, "--task", "addition", "--epochs", "1", *TINY, flag, value.format(tmp=tmp_path))
    assert code == 2 and len(err.strip().splitlines()) == 1 and needle in err and flag in err, err
    assert out == ""  # nothing was loaded or trained


def test_an_unwritable_output_directory_is_refused_before_training(tmp_path, capsys, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.access(locked, os.W_OK):  # root ignores permission bits: make the check see what a user would
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: False if os.fspath(p) == str(locked) else real(p, mode))
    code, out, err = _run(capsys, "--task", "addition", *TINY, "--save", str(locked / "w.npz"))
    assert code == 2 and f"directory {locked} is not writable" in err and out == ""
    assert check_output_path("--save", str(tmp_path / "w.npz")) is None


@pytest.mark.parametrize("threads", ["0", "-2", "two"])
def test_threads_must_be_at_least_one(capsys, threads):
    code, out, err = _run(capsys, "--task", "addition", *TINY, "--threads", threads)
    assert code == 2 and "--threads" in err and len(err.strip().splitlines()) == 1


def test_a_too_long_line_is_an_error_naming_file_and_line(tmp_path, capsys):
    f = _sums_file(tmp_path / "long.txt", n=5)
    f.write_text(f.read_text() + "1" * 100_000 + "_1\n")
    code, out, err = _run(capsys, "--data", str(f), "--epochs", "1", "--quiet")
    assert code == 2 and "long.txt:6: the question has 100000 characters, over the maximum length 256" in err
    code, out, err = _run(capsys, "--data", str(f), "--epochs", "1", "--quiet", "--max-len", "4")
    assert code == 2 and "long.txt:1: the question has 5 characters, over the maximum length 4" in err


def test_a_bom_is_dropped_and_split_none_trains_on_everything(tmp_path, capsys):
    f = _sums_file(tmp_path / "bom.txt", n=30, prefix="\ufeff")
    metrics = tmp_path / "m.json"
    flags = ["--epochs", "1", "--batch-size", "16", "--hidden", "8", "--quiet", "--split", "none"]
    code, out, err = _run(capsys, "--data", str(f), *flags, "--metrics-json", str(metrics))
    assert code == 0, err
    vocab = len(set(f.read_text(encoding="utf-8-sig")) - {"\n"})
    assert f"30 train / 0 test, vocab {vocab}," in out and "train acc" in out
    assert "train_accuracy" in json.loads(metrics.read_text())["epochs"][0]
