"""Packaging: the wheel (the book's data inside, an SPDX licence, no build warning) works from any folder;
hypothesis is a runtime dependency; nothing points at a folder beside the repository.

The wheel is built once from a copy of the sources (the checkout stays clean), unpacked, and run
from an empty folder: what `pip install .` gives, without installing the dependencies again.
"""

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOOK_FILES = ("addition.txt", "date.txt", "LICENSE")
NOT_IN_A_BUILD = (".git", ".venv", "tests", "benchmarks", "docs", "examples", "out", "build", "__pycache__")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """(path of a wheel built from a copy of the sources, everything the build printed)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src, dist = tmp / "src", tmp / "dist"
    ignore = shutil.ignore_patterns(*NOT_IN_A_BUILD, "*.egg-info", ".*_cache", ".hypothesis")
    shutil.copytree(ROOT, src, ignore=ignore)
    code = "import sys; from setuptools import build_meta as b; print('WHEEL', b.build_wheel(sys.argv[1]))"
    r = subprocess.run([sys.executable, "-c", code, str(dist)], cwd=src, capture_output=True, text=True, timeout=300)
    output = r.stdout + r.stderr
    assert r.returncode == 0, output
    name = re.search(r"^WHEEL (\S+)$", r.stdout, re.M).group(1)
    return dist / name, output


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    """The wheel unpacked as site-packages would hold it, and an empty folder far from the repository."""
    site, empty = tmp_path_factory.mktemp("site"), tmp_path_factory.mktemp("empty")
    with zipfile.ZipFile(wheel[0]) as z:
        z.extractall(site)
    return site, empty


def _run_installed(installed, *argv):
    site, empty = installed
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, *argv], cwd=empty, env=env, capture_output=True, text=True, timeout=300)


def test_the_build_prints_no_deprecation_warning(wheel):
    assert "deprecat" not in wheel[1].lower(), wheel[1]


def test_the_wheel_carries_the_books_data_its_licence_and_an_spdx_licence(wheel):
    with zipfile.ZipFile(wheel[0]) as z:
        names = set(z.namelist())
        meta = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        date_size = z.getinfo("tinygrad_attn/data/book/date.txt").file_size
    for f in BOOK_FILES:
        assert f"tinygrad_attn/data/book/{f}" in names
    assert any(n.endswith(".dist-info/licenses/tinygrad_attn/data/book/LICENSE") for n in names)
    assert re.search(r"^License-Expression: MIT$", meta, re.M)
    assert not re.search(r"^License: ", meta, re.M)  # the old TOML-table form
    assert date_size == 2_050_000


def test_the_installed_package_loads_the_books_data_from_an_empty_folder(installed):
    code = (
        "import tinygrad_attn, tinygrad_attn.data as D\n"
        "print(tinygrad_attn.__file__)\n"
        "print(D.load_pairs('book:date'))\n"
        "print(D.load_pairs('book:addition'))\n"
    )
    r = _run_installed(installed, "-c", code)
    assert r.returncode == 0, r.stderr
    where, date, addition = r.stdout.splitlines()
    assert Path(where).is_relative_to(installed[0])  # the unpacked wheel, not the checkout
    assert date == "PairData('date': train (45000, 29)->(45000, 11), test (5000, 29)->(5000, 11), vocab 59)"
    assert addition == "PairData('addition': train (45000, 7)->(45000, 5), test (5000, 7)->(5000, 5), vocab 13)"


def test_the_installed_command_trains_on_the_books_data(installed):
    """One epoch of a tiny model on book:addition (the full `--data book:date --model attention` run is in
    docs/data.md: minutes, not seconds)."""
    flags = ["--epochs", "1", "--hidden", "8", "--wordvec", "4", "--batch-size", "1000", "--quiet"]
    r = _run_installed(installed, "-m", "tinygrad_attn", "train", "--data", "book:addition", *flags)
    assert r.returncode == 0, r.stderr
    assert "addition: 45000 train / 5000 test, vocab 13" in r.stdout and "epoch   1" in r.stdout
    r = _run_installed(installed, "-m", "tinygrad_attn", "train", "--data", "book:xyz")
    assert r.returncode == 2 and "unknown dataset 'book:xyz'; the package ships book:addition, book:date" in r.stderr


SCANNED = {".py", ".md", ".toml", ".cfg", ".txt", ".sh", ".yml", ".yaml", ""}
SHARED = re.compile(r"\.\./shared|[\"']shared[\"'],\s*[\"']data|shared/data")


def test_nothing_points_at_a_shared_folder_beside_the_repository():
    hits = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [
            d
            for d in dirs
            if not d.startswith(".") and d not in {"out", "build", "__pycache__"} and not d.endswith(".egg-info")
        ]
        for f in files:
            path = Path(folder) / f
            if path.suffix not in SCANNED or path == Path(__file__):
                continue
            if path.stat().st_size > 1_000_000:
                continue
            for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                if SHARED.search(line):
                    hits.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not hits, "use book:addition / book:date instead:\n" + "\n".join(hits)


def test_hypothesis_is_a_runtime_dependency():
    # tomllib is 3.11+; the list is simple enough to read with a regex
    text = (ROOT / "pyproject.toml").read_text()
    block = re.search(r"^dependencies = \[(.*?)^\]", text, re.S | re.M).group(1)
    names = re.findall(r'^\s*"([A-Za-z0-9_.-]+)', block, re.M)
    assert "hypothesis" in names and "numpy" in names


def test_strategies_without_hypothesis_raise_a_friendly_import_error():
    # hypothesis hidden from the import system: the message says what to install
    code = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "try:\n"
        "    import tinygrad_attn.testing.strategies\n"
        "except ImportError as e:\n"
        "    print('ERR', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.startswith("ERR") and "pip install hypothesis" in out


def test_strategies_import_through_the_package():
    from tinygrad_attn import testing

    assert hasattr(testing.strategies, "op_graphs")
