"""Every ```python block of README.md and docs/*.md runs, in order, as a reader would paste it.

Each file gets one fresh interpreter in an empty folder (its cwd), with matplotlib's Agg backend;
its blocks run one after another in one namespace, so a later block may use what an earlier one
defined. A block that is not meant to run is fenced as another language (```text, ```console).
Tracebacks point at the markdown file's own line numbers.
"""

import importlib.util
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
TIMEOUT_S = 180  # per file, generous: the machine is shared; the blocks take seconds
README_MAX_LINES = 250

_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")

# Runs in the subprocess: reads [(file, first code line, code)], runs each block in one namespace.
_RUNNER = r"""
import json, sys, traceback
blocks = json.loads(sys.stdin.read())
ns = {"__name__": "__main__"}
for path, line, code in blocks:
    try:
        exec(compile("\n" * (line - 1) + code, path, "exec"), ns)
    except BaseException:
        sys.stdout.flush()
        print(f"\n{path}: the python block at line {line} failed", file=sys.stderr)
        traceback.print_exc()
        sys.exit(1)
"""


def python_blocks(text):
    """The ```python blocks of a markdown text: a list of (line of the first code line, code)."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, lang = m.groups()
        start, i = i + 1, i + 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            i += 1
        if lang == "python":
            code = [ln[len(indent) :] if ln.startswith(indent) else ln for ln in lines[start:i]]
            blocks.append((start + 1, "\n".join(code) + "\n"))
        i += 1
    return blocks


def markdown_files():
    """README.md and every page under docs/, in a stable order."""
    return [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md"))


def _rel(p):
    return p.relative_to(ROOT).as_posix()


def run_blocks(path, cwd, name=None):
    """Run the python blocks of one markdown file in a fresh interpreter; return (ok, output)."""
    name = name or _rel(path)
    blocks = [(name, line, code) for line, code in python_blocks(path.read_text(encoding="utf-8"))]
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1")
    env.pop("HYPOTHESIS_PROFILE", None)  # the blocks run as a reader runs them
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _RUNNER],
            input=json.dumps(blocks),
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as e:
        return False, f"{name}: its python blocks did not finish in {TIMEOUT_S} s\n{e.stderr or ''}"
    return proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]


def _ids():
    return [_rel(p) for p in markdown_files()]


OPTIONAL = {"torch": "pip install 'tinygrad_attn[torch]'"}  # extras a page may use: skipped without them


def missing_extra(text):
    """(package, how to get it) of an optional package a page's blocks import and this Python lacks, or None."""
    for package, how in OPTIONAL.items():
        if re.search(rf"^\s*(import|from) {package}\b", text, re.M) and importlib.util.find_spec(package) is None:
            return package, how
    return None


@pytest.mark.parametrize("path", markdown_files(), ids=_ids())
def test_python_blocks_run_in_order(path, tmp_path):
    missing = missing_extra("\n".join(code for _, code in python_blocks(path.read_text(encoding="utf-8"))))
    if missing:
        why = f"{_rel(path)} needs {missing[0]} ({missing[1]})"
        if os.environ.get("TINYGRAD_ATTN_REQUIRE_EXTRAS"):
            pytest.fail(f"TINYGRAD_ATTN_REQUIRE_EXTRAS=1 but {why}")
        pytest.skip(why)
    ok, output = run_blocks(path, tmp_path)
    assert ok, output


def test_readme_is_short():
    n = len((ROOT / "README.md").read_text(encoding="utf-8").splitlines())
    assert n <= README_MAX_LINES, f"README.md has {n} lines; at most {README_MAX_LINES} (details go to docs/)"


_LINK = re.compile(r"\]\(([^)\s]+)\)|(?:src|href)=\"([^\"]+)\"")


@pytest.mark.parametrize("path", markdown_files(), ids=_ids())
def test_relative_links_point_at_files(path):
    text = path.read_text(encoding="utf-8")
    missing = []
    for m in _LINK.finditer(text):
        target = (m.group(1) or m.group(2)).split("#")[0]
        if not target or re.match(r"[a-z]+:", target):
            continue  # a web address or a link within the page
        if not (path.parent / target).exists():
            missing.append(target)
    assert not missing, f"{_rel(path)} links to files that do not exist: {missing}"


def test_the_extractor_finds_blocks_and_skips_other_fences():
    text = "a\n```python\nx = 1\n```\n```text\nnot = code(\n```\n  ```python\n  y = x + 1\n  ```\n"
    assert python_blocks(text) == [(3, "x = 1\n"), (9, "y = x + 1\n")]


def test_a_failing_block_is_reported_with_file_and_line(tmp_path):
    bad = tmp_path / "bad.md"
    bad.write_text("# t\n\n```python\nx = 1\n```\n\ntext\n\n```python\ny = x + undefined_name\n```\n")
    ok, output = run_blocks(bad, tmp_path, name="bad.md")
    assert not ok
    assert "bad.md: the python block at line 10 failed" in output
    assert 'File "bad.md", line 10' in output and "NameError" in output
