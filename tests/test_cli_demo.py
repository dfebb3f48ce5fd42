"""`tinygrad-attn demo` with an --out folder it cannot write: one line naming the folder, exit 2, nothing computed."""

import os
import stat

import pytest

from tinygrad_attn.cli import main


def _run(capsys, *argv):
    try:
        code = main(["demo", *argv])
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def _one_line(code, out, err, *needles):
    assert code == 2 and out == "", (code, out, err)
    assert len(err.strip().splitlines()) == 1 and err.startswith("tinygrad-attn demo: error: --out "), err
    for needle in needles:
        assert needle in err, err


def test_out_below_a_regular_file(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("x")
    out = tmp_path / "notes.txt" / "out"
    _one_line(*_run(capsys, "--out", str(out), "--no-frames"), str(out), "cannot create the folder", "Not a directory")


def test_out_is_a_regular_file(tmp_path, capsys):
    (tmp_path / "out").write_text("x")
    _one_line(*_run(capsys, "--out", str(tmp_path / "out")), "exists and is not a folder")


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_out_where_even_root_cannot_create_a_folder(capsys):
    _one_line(*_run(capsys, "--out", "/proc/tinygrad-attn-demo/out"), "/proc/tinygrad-attn-demo/out", "cannot create")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write into a read-only folder")
def test_out_in_a_read_only_folder(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        _one_line(*_run(capsys, "--out", str(ro)), str(ro), "cannot write in the folder")
        _one_line(*_run(capsys, "--out", str(ro / "sub")), str(ro / "sub"), "cannot create the folder")
    finally:
        ro.chmod(stat.S_IRWXU)
