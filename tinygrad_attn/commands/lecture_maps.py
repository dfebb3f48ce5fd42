"""Where Table 3's attention maps come from: the score study's files, the copy shipped with the package, or training.

The score study (examples/score_study.py, the book's dates, seed 0) writes one JSON file per score
into docs/models/scores. `pack(study_maps(DIR))` keeps what the lecture draws of them (the first
map, the accuracy, the epochs) and is shipped as `lecture_table3.json` beside this module, so an
installed package draws Table 3 without the repository and without training; a test checks the
shipped file against the study's files. Scores found in neither are trained here briefly.
"""

from __future__ import annotations

import glob
import json
import os
from importlib import resources

import numpy as np

from .. import data, nn, seed
from .lecture_common import train_steps

SCORES_DIR = os.path.join("docs", "models", "scores")
SHIPPED = "lecture_table3.json"
TABLE3_STEPS = 500  # per score, only for scores found nowhere else
DIGITS = 4  # the shipped weights are rounded to this many decimals


def study_maps(scores_dir):
    """{score: run dict} from the study's finished seed-0 JSON files (no options), or {}."""
    found = {}
    for path in sorted(glob.glob(os.path.join(scores_dir, "*_seed0.json"))):
        with open(path) as f:
            run = json.load(f)
        if run.get("options") or not run.get("maps") or not run.get("finished"):
            continue  # variants, and runs still going, are not what the score learned
        found[run["score"]] = run
    return found


def pack(runs):
    """What the lecture draws of each study run: {score: {maps: [first map], best_accuracy, epochs, finished}}."""
    out = {}
    for score in nn.SCORES:
        if score not in runs:
            continue
        r = runs[score]
        m = r["maps"][0]
        weights = np.round(np.asarray(m["weights"], dtype=float), DIGITS).tolist()
        out[score] = {
            "score": score,
            "maps": [{"question": m["question"], "answer": m["answer"], "weights": weights}],
            "best_accuracy": r["best_accuracy"],
            "epochs": [{"epoch": e["epoch"]} for e in r["epochs"]],
            "finished": bool(r.get("finished")),
        }
    return out


def shipped_maps():
    """The study's maps shipped with the package: {score: run dict} (empty if the file is missing)."""
    try:
        text = resources.files(__package__).joinpath(SHIPPED).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return {}
    return json.loads(text)


def write_shipped(scores_dir, path=None):
    """Regenerate the shipped file from the study's files in `scores_dir`; returns the path written."""
    from viz.render import write_atomic

    path = path or os.path.join(os.path.dirname(__file__), SHIPPED)
    packed = pack(study_maps(scores_dir))
    write_atomic(path, (json.dumps(packed, indent=1, sort_keys=True) + "\n").encode("utf-8"))
    return path


def table3_runs(scores_dir=None, quick=False):
    """(runs {score: run dict}, source {score: "study" | "shipped" | "trained"}) for every score of Table 3.

    scores_dir: the study's files to read first (None: only the shipped copy); scores missing from
    both are trained here (see `train_maps`).
    """
    runs, source = {}, {}
    if scores_dir:
        for s, r in study_maps(scores_dir).items():
            runs[s], source[s] = r, "study"
    else:
        for s, r in shipped_maps().items():
            runs[s], source[s] = r, "shipped"
    missing = [s for s in nn.SCORES if s not in runs]
    if missing:
        for s, r in train_maps(missing, quick).items():
            runs[s], source[s] = r, "trained"
    return runs, source


def train_maps(scores, quick=False):
    """Train each score briefly on reversing letter strings (not the study, not dates); {score: run-like dict}.

    Reversal is the smallest task that needs alignment: H = 32, 500 steps of 64 reach 90-100 % for most
    scores in a few seconds of CPU each.
    """
    from .train import evaluate

    d = data.TASKS["reversal"](n_train=4000, n_test=200, seed=0)
    steps = 4 if quick else TABLE3_STEPS
    found = {}
    for j, s in enumerate(scores, 1):
        seed(0)
        m = nn.AttentionSeq2Seq(len(d.vocab), 16, 32, score=s, max_len=d.x_train.shape[1])
        train_steps(m, d.x_train, d.t_train, steps, 5e-3, f"table 3: training {s!r} ({j}/{len(scores)})")
        acc = evaluate(m, d.x_test, d.t_test, d.vocab.start_id)
        m.eval()
        lengths = [len(d.vocab.decode(x).rstrip()) for x in d.x_test]
        i = int(np.argmax(lengths))  # the first of the longest test words
        ids = m.generate(d.x_test[i : i + 1], d.vocab.start_id, d.t_test.shape[1] - 1)
        q, n = d.vocab.decode(d.x_test[i]), lengths[i]
        found[s] = {
            "best_accuracy": acc,
            "maps": [
                {
                    "question": q[:n],
                    "answer": d.vocab.decode(ids[0])[:n],
                    "weights": m.attention_weights[0][:n, :n].tolist(),
                }
            ],
            "steps": steps,
        }
    return found
