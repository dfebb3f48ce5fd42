"""README's "Write your own op" block runs as written, and its check can fail."""

import pathlib
import re

import numpy as np
import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def _block(marker):
    text = README.read_text(encoding="utf-8")
    m = re.search(rf"<!-- {marker} -->\s*```python\n(.*?)```", text, re.S)
    assert m, f"README has no python block after <!-- {marker} -->"
    return m.group(1)


def test_write_your_own_op_runs_as_written():
    code = _block("write-your-own-op")
    assert len([ln for ln in code.splitlines() if ln.strip()]) <= 16
    ns = {}
    exec(compile(code, "README.md", "exec"), ns)
    y = ns["y"]
    np.testing.assert_array_equal(y.data, [1.0, 8.0])


def test_the_same_check_fails_for_a_wrong_rule():
    code = _block("write-your-own-op").replace("g * 3 * ins[0] ** 2", "g * 2 * ins[0] ** 2")
    from tinygrad_attn.testing import GradcheckError

    with pytest.raises(GradcheckError):
        exec(compile(code, "README.md", "exec"), {})
