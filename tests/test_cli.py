"""The command line as a whole: no abbreviated flags, a typo reported by its subcommand with that subcommand's
usage, import errors that surface, an empty question refused, and one meaning of --plot in train and predict."""

import sys

import numpy as np
import pytest

from tinygrad_attn import cli
from tinygrad_attn.cli import main

TINY = ["--epochs", "1", "--batch-size", "16", "--hidden", "8", "--wordvec", "4", "--quiet", "--split", "none"]


def _run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as e:  # argparse rejects a flag
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def _sums(path, n=40):
    rng = np.random.default_rng(0)
    path.write_text(
        "".join(f"{a}+{b}".ljust(5) + "_" + str(a + b).ljust(3) + "\n" for a, b in rng.integers(0, 99, (n, 2)))
    )
    return path


def test_no_parser_accepts_abbreviated_flags():
    top, subs = cli.build_parser()
    assert top.allow_abbrev is False
    assert set(subs) == set(cli.COMMANDS)
    assert all(p.allow_abbrev is False for p in subs.values())


@pytest.mark.parametrize(
    "argv,typo,meant",
    [
        (["train", "--task", "addition", "--epoch", "1"], "--epoch", "--epochs"),
        (["train", "--task", "addition", "--hiden", "8"], "--hiden", "--hidden"),
        (["predict", "--checkpoint", "x.npz", "1+2", "--plo", "a.png"], "--plo", "--plot"),
        (["demo", "--ou", "pictures"], "--ou", "--out"),
        (["lecture", "--out", "x", "--quik"], "--quik", "--quick"),
    ],
)
def test_a_typod_flag_shows_the_subcommands_usage_and_what_was_meant(capsys, argv, typo, meant):
    code, out, err = _run(capsys, *argv)
    assert code == 2 and out == ""
    command = argv[0]
    assert err.startswith(f"usage: tinygrad-attn {command} ")
    assert "{demo,train,predict,lecture}" not in err  # not the top-level usage
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"tinygrad-attn {command}: error: unrecognized arguments: {typo}")
    assert last.endswith(f"(did you mean {meant}?)")


def test_an_unknown_flag_before_the_command_is_the_top_levels(capsys):
    code, out, err = _run(capsys, "--verbose", "train", "--task", "addition")
    assert code == 2 and err.startswith("usage: tinygrad-attn [-h]")
    assert "tinygrad-attn: error: unrecognized arguments: --verbose" in err


def test_an_import_error_inside_a_command_surfaces(tmp_path, monkeypatch):
    (tmp_path / "broken_command.py").write_text("import a_module_that_is_not_there_9f3\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(cli.COMMANDS, "broken", ("broken_command", "a command whose module fails to import"))
    monkeypatch.delitem(sys.modules, "broken_command", raising=False)
    with pytest.raises(ModuleNotFoundError) as e:
        main(["train", "--help"])  # any command: the parser imports every command's module
    assert e.value.name == "a_module_that_is_not_there_9f3"


@pytest.mark.parametrize("question", ["", "   "])
def test_an_empty_question_is_refused_before_the_checkpoint_is_read(capsys, question):
    code, out, err = _run(capsys, "predict", "--checkpoint", "no/such/checkpoint.npz", question)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "argument question: the question is empty" in err


@pytest.fixture(scope="module")
def attention_checkpoint(tmp_path_factory):
    d = tmp_path_factory.mktemp("plot")
    ck = d / "ck.npz"
    assert main(["train", "--data", str(_sums(d / "sums.txt")), "--model", "attention", *TINY, "--save", str(ck)]) == 0
    return ck


def test_plot_is_a_file_or_a_folder_in_train(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    data = str(_sums(tmp_path / "sums.txt"))
    code, out, err = _run(
        capsys, "train", "--data", data, "--model", "attention", *TINY, "--plot", str(tmp_path / "c.svg")
    )
    assert code == 0, err
    assert (tmp_path / "c.svg").read_text().lstrip().startswith("<?xml")  # the curves, in the format asked for
    assert [p.name for p in sorted(tmp_path.glob("c_attention_*.svg"))] == [f"c_attention_{i}.svg" for i in range(3)]
    code, out, err = _run(capsys, "train", "--data", data, "--model", "attention", *TINY, "--plot", str(tmp_path / "f"))
    assert code == 0, err
    assert {p.name for p in (tmp_path / "f").iterdir()} == {"training_curves.png"} | {
        f"attention_{i}.png" for i in range(3)
    }


def test_plot_is_a_file_or_a_folder_in_predict(attention_checkpoint, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    ask = ["predict", "--checkpoint", str(attention_checkpoint), "12+34"]
    code, out, err = _run(capsys, *ask, "--plot", str(tmp_path / "map.png"))
    assert code == 0, err
    assert (tmp_path / "map.png").read_bytes()[:4] == b"\x89PNG" and f"wrote {tmp_path / 'map.png'}" in out
    code, out, err = _run(capsys, *ask, "--plot", str(tmp_path / "maps"))
    assert code == 0, err
    assert [p.name for p in (tmp_path / "maps").iterdir()] == ["attention.png"]
    (tmp_path / "a_file").write_text("x")
    code, out, err = _run(capsys, *ask, "--plot", str(tmp_path / "a_file"))
    assert code == 2 and "exists and is not a directory" in err and out == ""


@pytest.mark.parametrize("command", ["train", "predict"])
def test_help_says_what_plot_means(capsys, command):
    code, out, err = _run(capsys, command, "--help")
    assert code == 0
    text = " ".join(out.split())
    assert "PATH is a picture file when it ends in .png, .svg or .pdf, else a folder (created if missing)" in text


def test_every_argument_parser_in_the_package_and_examples_refuses_abbreviations():
    """Static: each `ArgumentParser(...)` / `add_parser(...)` call passes allow_abbrev=False."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    missing, seen = [], 0
    for path in [*root.glob("tinygrad_attn/**/*.py"), *root.glob("examples/*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            f = node.func if isinstance(node, ast.Call) else None
            name = getattr(f, "attr", getattr(f, "id", None))
            if name in ("ArgumentParser", "add_parser"):
                seen += 1
                if not any(k.arg == "allow_abbrev" and getattr(k.value, "value", None) is False for k in node.keywords):
                    missing.append(f"{path.relative_to(root)}:{node.lineno}")
    assert seen >= 3 and not missing, missing
