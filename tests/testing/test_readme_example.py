"""The "check your own op" block of docs/custom_ops.md runs as written and fails where it says it fails."""

import contextlib
import io
import os
import re
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "custom_ops.md"


def _block():
    text = PAGE.read_text(encoding="utf-8")
    m = re.search(r"<!-- check-your-own-op -->\s*```python\n(.*?)```", text, re.S)
    assert m, "docs/custom_ops.md lost its check-your-own-op block"
    return m.group(1)


def test_the_block_runs_and_reports_the_wrong_op(tmp_path):
    code = _block()
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(tmp_path)  # the block writes softplus.svg next to itself
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, "example.py", "exec"), {"__name__": "example"})
    finally:
        os.chdir(cwd)
    printed = out.getvalue()
    line = next(i for i, s in enumerate(code.splitlines(), 1) if "render_on_failure" in s)
    assert f"WrongSoftplus created at example.py:{line}" in printed
    assert "0.69314718 by its backward but 0.5 by central differences" in printed
    assert "gradcheck FAILED" in (tmp_path / "softplus.svg").read_text(encoding="utf-8")
    # the page shows what the block prints
    shown = re.search(r"prints .*?\n```text\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S).group(1)
    assert shown.strip() == printed.strip().replace(str(tmp_path) + os.sep, "")
