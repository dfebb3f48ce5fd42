"""The speed harness in benchmarks/: every workload builds and takes a training step, the tools run.

No timing is asserted: only that the steps compute what they say and the scripts print their tables.
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_attn as ta

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
sys.path.insert(0, str(BENCH))

import timing  # noqa: E402  (benchmarks/ is not a package)
import workloads  # noqa: E402


def _env():
    return dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")


def test_scalar_chain_step_is_the_hand_computed_one():
    p = workloads.SIZES["scalar_chain"]
    w, b, ys = p["w"], p["b"], [p["x"]]
    for _ in range(p["n_steps"]):
        ys.append(math.tanh(w * ys[-1] + b))
    g, dw, db = 1.0, 0.0, 0.0
    for k in range(p["n_steps"], 0, -1):  # reverse mode by hand: d y_k / d pre_k = 1 - y_k^2
        d = g * (1 - ys[k] ** 2)
        dw, db, g = dw + d * ys[k - 1], db + d, d * w
    step = workloads.build("scalar_chain")
    assert step() == pytest.approx(ys[-1], rel=1e-12)
    after = step.weights()
    assert float(after["w"]) == pytest.approx(w - p["lr"] * dw, rel=1e-12)
    assert float(after["b"]) == pytest.approx(b - p["lr"] * db, rel=1e-12)


# the graphs at the bench's sizes, the slow ones smaller (the same code paths)
SMALLER = {"rnn_tiny": {}, "rnn_mid": {}, "seq2seq": {"N": 8, "H": 32}, "transformer_layer": {"N": 4}}


@pytest.mark.parametrize("name", list(SMALLER))
def test_synthetic_workload_trains(name):
    data, before = workloads.inputs(name, **SMALLER[name])
    again_data, again = workloads.inputs(name, **SMALLER[name])
    assert all(np.array_equal(before[k], again[k]) for k in before)  # fixed seeds
    assert all(np.array_equal(data[k], again_data[k]) for k in data)
    step = workloads.build(name, **SMALLER[name])
    first = step()
    after = step.weights()
    assert set(after) == set(before)
    assert all(after[k].shape == before[k].shape and after[k].dtype == np.float32 for k in before)
    assert all(not np.array_equal(after[k], before[k]) for k in before)  # every weight gets a gradient
    second = step()
    assert np.isfinite(first) and second < first  # a step of SGD on the same batch lowers its loss


def _book_style_addition(folder, n=300):
    """An addition.txt in the book's layout: question 7 wide, `_`, answer 4 wide."""
    rng = np.random.default_rng(0)
    lines = []
    for a, b in rng.integers(0, 1000, (n, 2)).tolist():
        lines.append(f"{a}+{b}".ljust(7) + "_" + str(a + b).ljust(4))
    (folder / "addition.txt").write_text("\n".join(lines) + "\n")


def test_book_batch_reads_a_data_dir(tmp_path):
    _book_style_addition(tmp_path)
    batch = workloads.book_batch("book_addition", data_dir=str(tmp_path))
    assert batch["x"].shape == (128, 7) and batch["t"].shape == (128, 5)
    assert int(batch["vocab_size"]) == 13  # ten digits, '+', ' ', '_'
    d = ta.data.load_pairs(tmp_path / "addition.txt")
    assert np.array_equal(batch["x"], d.x_train[:128, ::-1])  # questions reversed, as the book trains


@pytest.mark.parametrize("name", ["book_addition", "book_date"])
def test_book_workload_takes_an_adam_step(name):
    task = ta.data.addition(n_train=16, n_test=0) if name == "book_addition" else ta.data.dates(16, 0)
    batch = {"x": task.x_train, "t": task.t_train, "vocab_size": np.array(len(task.vocab))}
    step = workloads.build(name, book=batch, H=32)
    before = step.weights()
    first = step()
    after = step.weights()
    assert np.isfinite(first) and set(after) == set(before)
    assert all(not np.array_equal(after[k], before[k]) for k in before)


def test_unknown_workload_or_size_is_named():
    with pytest.raises(KeyError, match="no workload 'rnn_huge'"):
        workloads.build("rnn_huge")
    with pytest.raises(KeyError, match="rnn_mid has no size Q"):
        workloads.build("rnn_mid", Q=3)


def test_statistics():
    assert timing.quartiles([3.0, 1.0, 2.0, 4.0, 5.0]) == (2.0, 3.0, 4.0)
    assert timing.median_interval(list(range(1, 41))) == (14, 27)  # the textbook pair for n = 40
    assert timing.median_interval([1, 2, 3]) == (1, 3)  # too few for 95 %: the whole range
    low, high = timing.mean_interval([1.0, 1.02, 0.98, 1.0])
    assert low < 1.0 < high and high - low == pytest.approx(2 * 3.18 * 0.01633 / 2, rel=1e-3)
    assert timing.paired_ratios([2.0, 3.0], [1.0, 2.0]) == [2.0, 1.5]
    assert timing.inner_steps(0.02, 0.05) == 3


def test_worker_answers_samples(tmp_path):
    cmd = [sys.executable, str(BENCH / "worker.py"), "--workloads", "rnn_tiny", "--book", str(tmp_path / "b.npz")]
    out = subprocess.run(cmd, input="rnn_tiny 2\nrnn_tiny 1\n\n", capture_output=True, text=True, env=_env())
    assert out.returncode == 0, out.stderr
    report, *replies = out.stdout.splitlines()
    report = json.loads(report)
    assert Path(report["engine"]).parent == ROOT / "tinygrad_attn"
    assert report["error"] == {} and report["inner"]["rnn_tiny"] >= 1
    assert len(replies) == 2 and all(float(x) > 0 for r in replies for x in r.split())


def test_compare_against_a_folder_prints_the_table():
    cmd = [sys.executable, str(BENCH / "compare.py"), str(ROOT), "--workloads", "rnn_tiny", "scalar_chain"]
    cmd += ["--rounds", "2", "--sessions", "2", "--min-sample-ms", "2", "--settle-ms", "0"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=_env())
    assert out.returncode in (0, 1), out.stderr  # 1 means "slower": timing is not what this test checks
    rows = [line for line in out.stdout.splitlines() if line.startswith("| rnn_tiny") or line.startswith("| scalar")]
    assert len(rows) == 2 and "not the same step" not in out.stdout


def test_run_prints_a_row_per_workload():
    cmd = [sys.executable, str(BENCH / "run.py"), "--workloads", "rnn_tiny", "--rounds", "1", "--settle-ms", "0"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=_env())
    assert out.returncode == 0, out.stderr
    assert any(line.startswith("| rnn_tiny | N=1, T=32") for line in out.stdout.splitlines())
    bad = subprocess.run([*cmd[:2], "--workloads", "rnn_huge"], capture_output=True, text=True, env=_env())
    assert bad.returncode == 2 and "no workload rnn_huge" in bad.stderr
