"""The outside reference bench, when it is there: its hand-written numpy and peers on our inputs.

The reference bench is not part of this repository. It is looked for in the folder named by
TINYGRAD_ATTN_BENCH, then in `shared/bench` beside the repository. Its adapters (`numpy_ref`,
`torch_ref`, `micrograd_ref`, ...) build one training step from a dict of sizes and data and a
dict of initial weights; `step(framework, name)` hands them this folder's inputs, so they start
from the same weights and batch as `workloads.build(name)`.
"""

from __future__ import annotations

import importlib
import os
import sys

import workloads

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = {"seq2seq": "lstm_attention_seq2seq"}  # ours -> the reference bench's name, where they differ


def find():
    """The reference bench's folder, or None."""
    for folder in (os.environ.get("TINYGRAD_ATTN_BENCH", ""), os.path.join(HERE, "..", "..", "shared", "bench")):
        if folder and os.path.isfile(os.path.join(folder, "run.py")):
            return os.path.abspath(folder)
    return None


def require():
    """The reference bench's folder, or exit with a message naming where it was looked for."""
    folder = find()
    if folder is None:
        sys.exit("benchmarks: the outside reference bench was not found; set TINYGRAD_ATTN_BENCH to its folder")
    return folder


def adapter(framework, threads=1):
    """The reference bench's adapter module `framework` ("numpy", "torch", ...), or None if it cannot load."""
    folder = require()
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        mod = importlib.import_module(f"adapters.{framework}_ref")
    except ImportError as e:
        print(f"benchmarks: {framework} left out ({e})", file=sys.stderr)
        return None
    if hasattr(mod, "setup"):
        mod.setup(threads)
    return mod


def their_params(name):
    """Our sizes under the reference bench's keys."""
    p = dict(workloads.SIZES[name])
    if name == "seq2seq":
        p["T_src"], p["T_tgt"] = p.pop("S"), p.pop("T")
    if name == "transformer_layer":
        p["d_model"] = p.pop("d")
    p["dtype"] = "float64" if name == "scalar_chain" else "float32"
    p["name"] = NAMES.get(name, name)
    return p


def step(mod, name):
    """The adapter's step for our workload `name` from our inputs, or None if it has none."""
    make = getattr(mod, "MAKE_STEP", {}).get(NAMES.get(name, name))
    if make is None:
        return None
    data, weights = workloads.inputs(name)
    return make(dict(their_params(name), data=data), weights)
