"""`tinygrad-attn lecture`: every figure written and real, captions in both languages, the numbers of 6-4 and 6-7."""

import json
import os

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from tinygrad_attn.cli import main  # noqa: E402
from tinygrad_attn.commands import lecture_figures as L  # noqa: E402
from tinygrad_attn.commands.lecture_captions import LANGS, TEXT, caption  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def lecture(tmp_path_factory):
    """One quick run of the whole command into a temporary folder: (folder, numbers)."""
    out = tmp_path_factory.mktemp("lecture")
    empty = tmp_path_factory.mktemp("no_scores")  # Table 3 must train its own maps
    assert main(["lecture", "--out", str(out), "--quick", "--scores-dir", str(empty)]) == 0
    with open(out / "numbers.json") as f:
        return out, json.load(f)


def test_every_figure_is_written_and_is_a_real_picture(lecture):
    out, numbers = lecture
    assert list(numbers) == list(L.FIGURES)
    for fig, n in numbers.items():
        assert n["files"], fig
        for name in n["files"]:
            with open(out / name, "rb") as f:
                head = f.read(4096)
            if name.endswith(".png"):
                assert head.startswith(PNG), name
                assert os.path.getsize(out / name) > 5000, name  # a picture, not an empty canvas
            elif name.endswith(".svg"):
                assert b"<svg" in head, name
            elif name.endswith(".html"):
                assert b"<html" in head.lower(), name


def test_captions_in_both_languages_with_the_numbers(lecture):
    out, numbers = lecture
    with open(out / "captions.json", encoding="utf-8") as f:
        caps = json.load(f)
    assert set(caps) == set(L.FIGURES)
    for fig, c in caps.items():
        assert set(LANGS) <= set(c)
        assert c["en"].count(" ") > 20, fig
        assert any("\uac00" <= ch <= "\ud7a3" for ch in c["ko"]), fig  # Hangul
        assert "{" not in c["en"] and "{" not in c["ko"], fig  # every field filled
    ratio = numbers["6-4"]["tom_over_to"]["rnn"]
    assert f"{ratio:.1e}" in caps["6-4"]["en"] and f"{ratio:.1e}" in caps["6-4"]["ko"]
    md = (out / "lecture.md").read_text(encoding="utf-8")
    assert "![6-2](fig6_2_rnn_graph.png)" in md and caps["6-7"]["en"] in md
    assert md == (out / "lecture_en.md").read_text(encoding="utf-8")
    assert caps["6-7"]["ko"] in (out / "lecture_ko.md").read_text(encoding="utf-8")


def test_korean_lecture_md_and_redrawing_some_figures(tmp_path):
    assert main(["lecture", "--out", str(tmp_path), "--lang", "ko", "--only", "tanh", "6-7"]) == 0
    md = (tmp_path / "lecture.md").read_text(encoding="utf-8")
    assert md.startswith("# 강의") and "그림 6-7" in md and "기울기" in md
    assert list(json.loads((tmp_path / "numbers.json").read_text())) == ["6-7", "tanh"]
    assert main(["lecture", "--out", str(tmp_path), "--only", "6-4"]) == 0  # the others are kept, in order
    assert list(json.loads((tmp_path / "numbers.json").read_text())) == ["6-4", "6-7", "tanh"]
    assert "그림 6-7" in json.loads((tmp_path / "captions.json").read_text(encoding="utf-8"))["6-7"]["ko"]


def test_fig_6_2_is_the_per_step_form(lecture):
    _, n = lecture
    f = n["6-2"]
    assert f["names"] == [f"h_{t}" for t in range(1, f["T"] + 1)]
    assert f["matmuls"] == 2 * f["T"]  # h_(t-1) W_h and x_t W_x in every step
    assert "fig6_2_explore.html" in f["files"]


def test_fig_6_4_vanishes_toward_tom_for_tanh_only():
    words, vocab, tom = L.tom_sentence()
    assert words[0] == "Tom" and words[-1] == "to" and vocab.level == "word"
    ids = vocab.encode(L.TOM)
    rnn = L._tom_grads("rnn", vocab, ids, tom)
    lstm = L._tom_grads("lstm", vocab, ids, tom)
    att = L._tom_grads("attention", vocab, ids, tom)
    assert rnn.shape == lstm.shape == att.shape == (len(words),)
    assert rnn[0] / rnn[-1] < 1e-4  # vanishes toward "Tom"
    assert np.all(np.diff(np.log(rnn))[:-1] > -1)  # and it is a decay along the sentence, not one dip
    assert lstm[0] / lstm[-1] > 0.3 and att[0] / att[-1] > 0.03  # far larger for LSTM and attention
    default = L._tom_grads("rnn", vocab, ids, tom, radius=None)
    assert not np.allclose(default, rnn)


def test_fig_6_7_gain_below_at_and_above_one():
    for r in L.RADII_67:
        norms, _, _ = L.matmul_chain(r, T=12)
        gain = norms[1:] / norms[:-1]
        np.testing.assert_allclose(gain, r, rtol=1e-9)  # every step multiplies the norm by rho exactly
        np.testing.assert_allclose(norms[-1] / norms[0], r**12, rtol=1e-9)
    assert L.RADII_67[0] < 1 == L.RADII_67[1] < L.RADII_67[2]


def test_fig_6_7_norms_come_from_the_record_and_match_plain_backward():
    norms, _, h0 = L.matmul_chain(1.25, T=5)
    assert norms[-1] == pytest.approx(float(np.linalg.norm(h0.grad.data)))


def test_tanh_derivative_is_at_most_one(lecture):
    _, n = lecture
    assert n["tanh"]["max_derivative"] == pytest.approx(1.0)
    assert n["tanh"]["at"]["2.0"] < 0.1


def test_table3_says_where_its_maps_come_from(lecture, tmp_path):
    _, n = lecture
    t = n["table3"]
    assert t["from_study"] == [] and t["trained_steps"] > 0  # no study files given: trained here
    assert "reversing" in caption("table3", t, "en")
    assert t["parameters"]["dot"] == 0 and t["parameters"]["similarity"] == 257  # w_beta (256,) + b_beta
    run = {
        "score": "dot",
        "options": {},
        "best_accuracy": 0.99,
        "finished": True,
        "epochs": [{"epoch": 1}],
        "maps": [{"question": "1/2/93", "answer": "1993-01-02", "weights": np.full((10, 6), 1 / 6).tolist()}],
    }
    (tmp_path / "dot_seed0.json").write_text(json.dumps(run))
    (tmp_path / "location_seed0.json").write_text(json.dumps({**run, "score": "location", "finished": False}))
    found = L._study_maps(str(tmp_path))
    assert list(found) == ["dot"]  # a run still going is not what the score learned


def test_captions_know_every_figure():
    assert set(TEXT) == set(L.FIGURES)
    with pytest.raises(ValueError, match="language"):
        caption("tanh", {"max_derivative": 1.0, "at": {"1.0": 0.4, "2.0": 0.07}}, "fr")


def test_bad_threads(tmp_path, capsys):
    assert main(["lecture", "--out", str(tmp_path), "--threads", "0"]) == 2
    assert "--threads" in capsys.readouterr().err
