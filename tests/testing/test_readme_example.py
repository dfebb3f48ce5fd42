"""The "Check your own op" block runs as written and fails where it says (docs/checking.md; README while it has one)."""

import contextlib
import io
import linecache
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- check-your-own-op -->"
PAGES = [p for p in (ROOT / "docs" / "checking.md", ROOT / "README.md") if MARKER in p.read_text(encoding="utf-8")]


def _block(text):
    m = re.search(r"<!-- check-your-own-op -->\s*```python\n(.*?)```", text, re.S)
    assert m, "the page lost its check-your-own-op block"
    return m.group(1)


def test_the_checking_page_has_the_block():
    assert ROOT / "docs" / "checking.md" in PAGES


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_the_block_runs_and_reports_the_wrong_op(page, tmp_path):
    text = page.read_text(encoding="utf-8")
    code = _block(text)
    name = "readme.py" if page.name == "README.md" else "checking.py"  # the file name the page shows
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(tmp_path)  # the block writes softplus.svg next to itself
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, name, "exec"), {"__name__": name[:-3]})
    finally:
        os.chdir(cwd)
    printed = out.getvalue()
    line = next(i for i, s in enumerate(code.splitlines(), 1) if "render_on_failure" in s)
    assert f"WrongSoftplus created at {name}:{line}" in printed
    assert "0.69314718 by its backward but 0.5 by central differences" in printed
    assert "gradcheck FAILED" in (tmp_path / "softplus.svg").read_text(encoding="utf-8")
    # the page shows what the block prints
    shown = re.search(r"prints .*?\n```\n(.*?)```", text[text.index(MARKER) :], re.S).group(1)
    assert shown.strip() == printed.strip().replace(str(tmp_path) + os.sep, "")


def test_the_layer_example_on_the_checking_page_prints_what_the_page_shows():
    text = (ROOT / "docs" / "checking.md").read_text(encoding="utf-8")
    start = text.index("## Hand-written layers")
    code, shown = re.search(r"```python\n(.*?)```\n\nprints\n\n```\n(.*?)```", text[start:], re.S).groups()
    out = io.StringIO()
    linecache.cache["checking.py"] = (len(code), None, code.splitlines(True), "checking.py")  # as IPython does
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, "checking.py", "exec"), {"__name__": "checking"})
    finally:
        linecache.cache.pop("checking.py", None)
    assert shown.strip() == out.getvalue().strip() and "dW[7, 9] is wrong" in shown
