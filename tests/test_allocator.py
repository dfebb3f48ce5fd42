"""allocator.py: freed arrays stay in the heap for the next step (glibc), and it can be switched off."""

import json
import os
import subprocess
import sys

import pytest

import tinygrad_attn as ta

GLIBC = sys.platform.startswith("linux") and hasattr(__import__("ctypes").CDLL(None), "gnu_get_libc_version")
pytestmark = pytest.mark.skipif(not GLIBC, reason="the malloc thresholds are glibc's")

# a few training steps of a model whose arrays are 0.5-4 MB; prints minor page faults per step
STEPS = """
import json, resource, numpy as np, tinygrad_attn as ta
from tinygrad_attn import nn, optim
ta.seed(0)
model = nn.LSTM(64, 256)
opt = optim.Adam(model.parameters())
x = ta.Tensor(np.random.default_rng(0).standard_normal((128, 16, 64)).astype(np.float32))
def step():
    hs, _ = model(x)
    loss = (hs * hs).mean()
    opt.zero_grad(); loss.backward(); opt.step()
    return loss.item()
first = [step() for _ in range(3)]
r0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
losses = [step() for _ in range(5)]
faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0) / 5
print(json.dumps({"tuned": ta.allocator.TUNED, "faults": faults, "losses": first + losses}))
"""


def _run(malloc):
    env = {**os.environ, "TINYGRAD_ATTN_MALLOC": malloc, "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", STEPS], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_importing_the_package_raises_the_thresholds():
    assert ta.allocator.TUNED is (os.environ.get("TINYGRAD_ATTN_MALLOC", "").lower() != "default")


def test_steps_reuse_memory_instead_of_faulting_and_give_the_same_numbers():
    tuned, default = _run(""), _run("default")
    assert tuned["tuned"] and not default["tuned"]
    assert tuned["faults"] < 100, tuned  # the arrays of a step reuse freed heap memory (2,400 faults by default)
    assert default["faults"] > 10 * max(tuned["faults"], 1), (tuned, default)  # what the default costs
    assert tuned["losses"] == default["losses"]  # where arrays live changes no number
