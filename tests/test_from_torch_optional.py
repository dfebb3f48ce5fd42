"""PyTorch stays optional: `import tinygrad_attn, viz` imports no torch; without it the bridge says how to get it.

These run without PyTorch installed (each in a fresh interpreter).
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_importing_tinygrad_attn_and_viz_imports_no_torch():
    done = run(
        "import sys, numpy as np\n"
        "import tinygrad_attn, viz\n"
        "from tinygrad_attn import from_torch\n"
        "x = tinygrad_attn.Tensor(np.ones(3), requires_grad=True)\n"
        "viz.draw((x * 2).sum(), backward=True)\n"
        "print(sorted(m for m, mod in sys.modules.items() if m.split('.')[0] == 'torch' and mod is not None))\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_without_torch_the_error_says_how_to_install_it():
    done = run(
        "import sys\n"
        "sys.modules['torch'] = None  # as if PyTorch were not installed\n"
        "from tinygrad_attn import from_torch\n"
        "try:\n"
        "    with from_torch.trace():\n"
        "        pass\n"
        "except ImportError as e:\n"
        "    print(e)\n"
        "try:\n"
        "    from_torch.record(1.0)\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 2
    assert all("needs PyTorch" in line and "pip install 'tinygrad_attn[torch]'" in line for line in lines)
