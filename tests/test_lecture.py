"""`tinygrad-attn lecture`: every figure written as PNG and SVG with readable real text, in English and in
Korean; captions quote the numbers the command computed; the computations behind 6-2, 6-4 and 6-7."""

import json
import os

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from tinygrad_attn import nn  # noqa: E402
from tinygrad_attn.cli import main  # noqa: E402
from tinygrad_attn.commands import lecture_6_2, lecture_maps  # noqa: E402
from tinygrad_attn.commands import lecture_figures as L  # noqa: E402
from tinygrad_attn.commands.lecture_captions import LANGS, TEXT, caption  # noqa: E402
from viz import fonts, svg_text  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"
HANGUL = ("\uac00", "\ud7a3")


def hangul(text):
    return any(HANGUL[0] <= ch <= HANGUL[1] for ch in text)


def run_quick(out, scores_dir, *flags):
    assert main(["lecture", "--out", str(out), "--quick", "--scores-dir", str(scores_dir), *flags]) == 0
    with open(out / "numbers.json") as f:
        return json.load(f)


@pytest.fixture(scope="module")
def lecture(tmp_path_factory):
    """One quick run of the whole command (Table 3 trains its own maps): (folder, numbers)."""
    out = tmp_path_factory.mktemp("lecture")
    return out, run_quick(out, tmp_path_factory.mktemp("no_scores"))


@pytest.fixture(scope="module")
def lecture_ko(tmp_path_factory):
    """The same run with --lang ko: (folder, numbers)."""
    assert fonts.cjk_family(), "no font with Hangul: install fonts-noto-cjk (Debian) for the Korean pictures"
    out = tmp_path_factory.mktemp("lecture_ko")
    return out, run_quick(out, tmp_path_factory.mktemp("no_scores_ko"), "--lang", "ko")


def pictures(numbers):
    return [name for n in numbers.values() for name in n["files"] if name.endswith((".png", ".svg"))]


def test_every_figure_is_a_png_and_an_svg_with_real_text(lecture):
    out, numbers = lecture
    assert list(numbers) == list(L.FIGURES)
    for fig, n in numbers.items():
        stems = {os.path.splitext(name)[0] for name in n["files"] if name.endswith((".png", ".svg"))}
        assert stems, fig
        for stem in stems:
            assert (out / f"{stem}.png").read_bytes().startswith(PNG), stem
            assert os.path.getsize(out / f"{stem}.png") > 5000, stem  # a picture, not an empty canvas
            texts = svg_text.texts((out / f"{stem}.svg").read_bytes())
            assert len(texts) > 5, stem  # text as <text>, not as paths
    assert (out / "fig6_2_step.svg").exists() and (out / "fig6_2_unrolled.svg").exists()
    if "fig6_2_explore.html" in numbers["6-2"]["files"]:
        assert b"<html" in (out / "fig6_2_explore.html").read_bytes()[:4096].lower()


@pytest.mark.parametrize("which", ["lecture", "lecture_ko"])
def test_smallest_text_is_at_least_8_px_when_shown_900_px_wide(which, request):
    out, numbers = request.getfixturevalue(which)
    for name in pictures(numbers):
        if name.endswith(".svg"):
            small = svg_text.smallest((out / name).read_bytes(), width=900)
            assert small.px >= 8.0, f"{name}: {small.text!r} is {small.px:.2f} px at 900 px"


def test_korean_pictures_have_hangul_and_differ_from_english(lecture, lecture_ko):
    out_en, numbers = lecture
    out_ko, numbers_ko = lecture_ko
    assert pictures(numbers) == pictures(numbers_ko)
    for name in pictures(numbers):
        if name.endswith(".svg"):
            ko, en = (out_ko / name).read_bytes(), (out_en / name).read_bytes()
            assert any(hangul(t.text) for t in svg_text.texts(ko)), name
            assert not any(hangul(t.text) for t in svg_text.texts(en)), name
        else:
            assert (out_ko / name).read_bytes() != (out_en / name).read_bytes(), name
    md = (out_ko / "lecture.md").read_text(encoding="utf-8")
    assert md.startswith("# 강의") and "그림 6-7" in md and "기울기" in md


def test_without_a_korean_font_one_warning_and_english_pictures(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(fonts, "cjk_family", lambda: None)
    assert main(["lecture", "--out", str(tmp_path), "--lang", "ko", "--only", "tanh", "8-18"]) == 0
    err = capsys.readouterr().err
    assert err.count("warning: no font with Hangul") == 1 and "fonts-noto-cjk" in err
    for name in ("fig_tanh_derivative.svg", "fig8_18_attention_decoder.svg"):
        assert not any(hangul(t.text) for t in svg_text.texts((tmp_path / name).read_bytes())), name
    assert "그림 8-18" in (tmp_path / "lecture.md").read_text(encoding="utf-8")  # the captions stay Korean


def test_captions_in_both_languages_with_the_numbers(lecture):
    out, numbers = lecture
    caps = json.loads((out / "captions.json").read_text(encoding="utf-8"))
    assert set(caps) == set(L.FIGURES)
    for fig, c in caps.items():
        assert set(LANGS) <= set(c)
        assert c["en"].count(" ") > 20, fig
        assert hangul(c["ko"]), fig
        assert "{" not in c["en"] and "{" not in c["ko"], fig  # every field filled
    ratio = numbers["6-4"]["tom_over_to"]["rnn"]
    assert f"{ratio:.1e}" in caps["6-4"]["en"] and f"{ratio:.1e}" in caps["6-4"]["ko"]
    acc = numbers["transformer"]["accuracy"]
    assert f"test accuracy {100 * acc:.1f} %" in caps["transformer"]["en"]  # the run's own number
    by = numbers["seq2seq"]["accuracy_by_length"]
    assert all(f"{k}: {100 * v:.0f} %" in caps["seq2seq"]["en"] for k, v in by.items())
    md = (out / "lecture.md").read_text(encoding="utf-8")
    assert "![6-2](fig6_2_unrolled.png)" in md and caps["6-7"]["en"] in md


def test_training_shows_progress_on_stderr(tmp_path, capsys):
    assert main(["lecture", "--out", str(tmp_path), "--quick", "--only", "transformer"]) == 0
    err = capsys.readouterr().err
    assert "transformer: training on reversal" in err


def test_redrawing_some_figures_keeps_the_others(tmp_path):
    assert main(["lecture", "--out", str(tmp_path), "--only", "8-18", "tanh"]) == 0
    assert list(json.loads((tmp_path / "numbers.json").read_text())) == ["tanh", "8-18"]
    assert main(["lecture", "--out", str(tmp_path), "--only", "6-2"]) == 0  # the others are kept, in order
    assert list(json.loads((tmp_path / "numbers.json").read_text())) == ["6-2", "tanh", "8-18"]
    assert "Figure 8-18" in (tmp_path / "lecture.md").read_text(encoding="utf-8")


def test_fig_6_2_is_the_books_step_without_plumbing(lecture):
    _, n = lecture
    f = n["6-2"]
    assert f["names"] == [f"h_{t}" for t in range(1, f["T"] + 1)]
    assert f["matmuls"] == 2 * f["T"] and f["getitems"] == 0  # h_(t-1) W_h and x_t W_x per step, no xs -> GetItem
    rnn, steps, loss, rec = lecture_6_2.rnn_run()
    h = steps[0]["h_prev"]
    for s in steps:  # the written-out step is the layer's own step
        h = rnn.step(s["x"], h)
        np.testing.assert_allclose(s["h"].data, h.data, rtol=1e-6)
    vals = lecture_6_2.step_values(rnn, steps, rec)
    for t in range(1, len(steps) + 1):  # W_h: one box per step, its value that step's contribution
        assert vals[(t, "W_h")] is not None and vals[(t, "hW")] is not None
    total = sum(c for _, _, c in rec.contributions_to(rnn.W_h))
    np.testing.assert_allclose(total, rec.grad_of(rnn.W_h), rtol=1e-6)


def test_fig_6_4_vanishes_toward_tom_for_tanh_only():
    words, vocab, tom = L.tom_sentence()
    assert words[0] == "Tom" and words[-1] == "to" and vocab.level == "word"
    ids = vocab.encode(L.TOM)
    rnn = L.tom_grads("rnn", vocab, ids, tom)
    lstm = L.tom_grads("lstm", vocab, ids, tom)
    att = L.tom_grads("attention", vocab, ids, tom)
    assert rnn.shape == lstm.shape == att.shape == (len(words),)
    assert rnn[0] / rnn[-1] < 1e-4  # vanishes toward "Tom"
    assert np.all(np.diff(np.log(rnn))[:-1] > -1)  # and it is a decay along the sentence, not one dip
    assert lstm[0] / lstm[-1] > 0.3 and att[0] / att[-1] > 0.03  # far larger for LSTM and attention
    default = L.tom_grads("rnn", vocab, ids, tom, radius=None)
    assert default[0] / default[-1] > 100 * rnn[0] / rnn[-1]  # the default init vanishes far less


def test_fig_6_7_gain_fluctuates_and_the_product_follows_the_radius():
    for r in L.RADII_67:
        norms, _, _ = L.matmul_chain(r, T=200)
        gain = norms[1:] / norms[:-1]
        assert gain[:10].std() > 0.05  # a Gaussian W_h: the gain depends on the direction of g
        late = np.exp(np.mean(np.log(gain[100:])))
        assert late == pytest.approx(r, rel=0.01)  # after the transient, rho per step
    assert L.RADII_67[0] < 1 == L.RADII_67[1] < L.RADII_67[2]


def test_fig_6_7_long_float32_run_overflows_to_inf_then_nan(lecture):
    _, n = lecture
    hi = n["6-7"]["long"][str(L.RADII_67[-1])]
    assert hi["inf"] is not None and hi["nan"] is not None and hi["inf"] <= hi["nan"]
    norms, _, _ = L.matmul_chain(L.RADII_67[-1], T=n["6-7"]["T_long"], dtype=np.float32)
    assert np.isinf(norms[hi["inf"]]) and np.isnan(norms[-1]) and np.isfinite(norms[: hi["inf"]]).all()


def test_fig_6_7_norms_come_from_the_record_and_match_plain_backward():
    norms, _, h0 = L.matmul_chain(1.25, T=5)
    assert norms[-1] == pytest.approx(float(np.linalg.norm(h0.grad.data)))


def test_tanh_derivative_is_at_most_one(lecture):
    _, n = lecture
    assert n["tanh"]["max_derivative"] == pytest.approx(1.0)
    assert n["tanh"]["at"]["2.0"] < 0.1


def test_fig_8_18_is_the_models_own_forward(lecture):
    _, n = lecture
    assert n["8-18"]["same_as_forward"] and len(n["8-18"]["grad_lstm"]) == n["8-18"]["T"]


def test_seq2seq_contexts_of_a_short_and_a_long_word_have_one_size(lecture):
    _, n = lecture
    s = n["seq2seq"]
    assert s["short"]["letters"] < s["long"]["letters"]
    assert set(s["accuracy_by_length"]) >= {str(s["short"]["letters"]), str(s["long"]["letters"])}


def test_table3_says_where_its_maps_come_from(lecture, tmp_path):
    _, n = lecture
    t = n["table3"]
    assert set(t["source"].values()) == {"trained"} and t["trained_steps"] > 0  # empty --scores-dir: trained
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
    found = L.study_maps(str(tmp_path))
    assert list(found) == ["dot"]  # a run still going is not what the score learned


def test_the_shipped_table3_maps_are_the_studys():
    shipped = lecture_maps.shipped_maps()
    assert set(shipped) == set(nn.SCORES)  # a plain install draws Table 3 without training
    study = os.path.join(os.path.dirname(__file__), os.pardir, "docs", "models", "scores")
    assert shipped == json.loads(json.dumps(lecture_maps.pack(lecture_maps.study_maps(study))))


def test_a_run_from_the_shipped_maps_trains_nothing_for_table3(tmp_path, capsys):
    assert main(["lecture", "--out", str(tmp_path), "--only", "table3"]) == 0
    assert "table 3: training" not in capsys.readouterr().err
    t = json.loads((tmp_path / "numbers.json").read_text())["table3"]
    assert set(t["source"].values()) == {"shipped"} and "score study" in caption("table3", t, "en")


def test_captions_know_every_figure():
    assert set(TEXT) == set(L.FIGURES)
    with pytest.raises(ValueError, match="language"):
        caption("tanh", {"max_derivative": 1.0, "at": {"1.0": 0.4, "2.0": 0.07}}, "fr")


def test_bad_arguments(tmp_path, capsys):
    assert main(["lecture", "--out", str(tmp_path), "--threads", "0"]) == 2
    assert "--threads" in capsys.readouterr().err
    assert main(["lecture", "--out", str(tmp_path), "--scores-dir", str(tmp_path / "nowhere")]) == 2
    assert "--scores-dir" in capsys.readouterr().err
