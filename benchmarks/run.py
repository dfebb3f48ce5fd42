"""Side-by-side training-step benchmark: this engine against hand-written numpy and the peers.

Runs the shared harness (`bench/run.py` in the `shared/` folder next to this repository, or
the folder named by TINYGRAD_ATTN_BENCH) with its adapter for this project; every argument
is passed through (`--check`, `--workloads`, `--frameworks`, `--threads`, `--json`, ...).
The peers it compares against (PyTorch CPU, DeZero, HIPS autograd, micrograd) are imported
only if installed: `make bench` installs them into .venv first.
"""

from __future__ import annotations

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def harness() -> str:
    """Path of the shared harness's run.py, or exit with a message naming where it was looked for."""
    candidates = [os.environ.get("TINYGRAD_ATTN_BENCH", ""), os.path.join(HERE, "..", "..", "shared", "bench")]
    for folder in candidates:
        path = os.path.join(folder, "run.py")
        if folder and os.path.isfile(path):
            return os.path.abspath(path)
    sys.exit("benchmarks: harness not found; set TINYGRAD_ATTN_BENCH to the folder holding bench/run.py")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    return subprocess.call([sys.executable, harness(), *argv])


if __name__ == "__main__":
    sys.exit(main())
