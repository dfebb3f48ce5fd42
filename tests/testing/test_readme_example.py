"""The README's "Check your own op" block runs as written and fails where it says it fails."""

import contextlib
import io
import os
import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def _block():
    text = README.read_text(encoding="utf-8")
    m = re.search(r"<!-- check-your-own-op -->\s*```python\n(.*?)```", text, re.S)
    assert m, "README.md lost its check-your-own-op block"
    return m.group(1)


def test_the_readme_block_runs_and_reports_the_wrong_op(tmp_path):
    code = _block()
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(tmp_path)  # the block writes softplus.svg next to itself
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, "readme.py", "exec"), {"__name__": "readme"})
    finally:
        os.chdir(cwd)
    printed = out.getvalue()
    line = next(i for i, s in enumerate(code.splitlines(), 1) if "render_on_failure" in s)
    assert f"WrongSoftplus created at readme.py:{line}" in printed
    assert "0.69314718 by its backward but 0.5 by central differences" in printed
    assert "gradcheck FAILED" in (tmp_path / "softplus.svg").read_text(encoding="utf-8")
    # the README shows what the block prints
    shown = re.search(r"prints .*?\n```\n(.*?)```", README.read_text(encoding="utf-8"), re.S).group(1)
    assert shown.strip() == printed.strip().replace(str(tmp_path) + os.sep, "")
