"""hypothesis is a runtime dependency: the public strategies import on a plain install."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


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
