"""Attention beside its gradient: `viz.explore_attention` and `predict --explore`, checked in headless Chromium."""

import os

import numpy as np
import pytest
from test_explore_browser import errors, js

import tinygrad_attn as ta
import viz
from tinygrad_attn import functional as F
from tinygrad_attn.cli import main
from tinygrad_attn.commands.checkpoint import load_model

SMALL = ["--epochs", "1", "--batch-size", "16", "--hidden", "8", "--wordvec", "4", "--quiet", "--split", "none"]


def record_grads(model, src, tgt):
    """The attention weights and their gradients for the answer tgt, recorded independently of the page."""
    logits = model(src, tgt[:, :-1])
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt[:, 1:].reshape(-1))
    found = viz.attention_page.attention_weights(loss)
    for _, w in found:
        w.retain_grad()
    loss.backward()
    return [(name, w.data[0], w.grad.data[0]) for name, w in found]


def test_explore_attention_gives_weights_and_their_gradient_per_map():
    ta.seed(0)
    model = ta.nn.AttentionSeq2Seq(vocab_size=9, wordvec_size=4, hidden_size=6)
    src, tgt = np.array([[1, 2, 3, 4]]), np.array([[0, 5, 6]])
    page = viz.explore_attention(model, src, tgt, src_tokens="abcd", tgt_tokens="_xy")
    ((name, w, g),) = record_grads(model, src, tgt)
    (a,) = page.attention
    assert (a["name"], a["queries"], a["keys"]) == ("attention", ["x", "y"], ["a", "b", "c", "d"])
    np.testing.assert_allclose(a["weights"], w, rtol=1e-6)
    np.testing.assert_allclose(a["grads"], g, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(np.sum(a["weights"], axis=1), 1, rtol=1e-5)
    rev = viz.explore_attention(model, src, tgt, src_tokens="abcd", tgt_tokens="_xy", reverse=True).attention[0]
    assert rev["keys"] == ["d", "c", "b", "a"] and np.allclose(rev["weights"], np.asarray(a["weights"])[:, ::-1])


def test_a_transformer_gives_one_map_per_head_and_layer():
    ta.seed(1)
    model = ta.nn.Transformer(vocab_size=9, d_model=8, n_heads=2, n_layers=1)
    src, tgt = np.array([[1, 2, 3]]), np.array([[0, 5, 6, 7]])
    page = viz.explore_attention(model, src, tgt)
    names = [a["name"] for a in page.attention]
    assert names == [f"{p} head {h}" for p in ("encoder.0.self_attn", "decoder.0.self_attn", "decoder.0.cross_attn")
                     for h in (1, 2)]  # fmt: skip
    recorded = record_grads(model, src, tgt)
    for k, (_, w, g) in enumerate(recorded):
        for h in range(2):
            a = page.attention[2 * k + h]
            np.testing.assert_allclose(a["weights"], w[h], rtol=1e-5)
            np.testing.assert_allclose(a["grads"], g[h], rtol=1e-4, atol=1e-9)
    cross = page.attention[4]
    assert len(cross["queries"]) == 3 and len(cross["keys"]) == 3 and np.shape(cross["grads"]) == (3, 3)
    with pytest.raises(ValueError, match="no Attention"):
        viz.explore_attention(ta.nn.Seq2Seq(vocab_size=9, wordvec_size=4, hidden_size=4), src, tgt)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """An attention and a Transformer checkpoint, each trained for one tiny epoch on a few sums."""
    d = tmp_path_factory.mktemp("ck")
    rng = np.random.default_rng(0)
    lines = [f"{a}+{b}".ljust(5) + "_" + str(a + b).ljust(3) for a, b in rng.integers(0, 100, (40, 2))]
    (d / "sums.txt").write_text("\n".join(lines) + "\n")
    out = {}
    for model, extra in (("attention", ["--reverse"]), ("transformer", [])):
        ck = d / f"{model}.npz"
        assert main(["train", "--data", str(d / "sums.txt"), "--model", model, *extra, *SMALL, "--save", str(ck)]) == 0
        out[model] = ck
    return out


@pytest.mark.parametrize("model", ["attention", "transformer"])
def test_predict_explore_writes_a_page_of_weights_and_gradients(browser, checkpoints, model, tmp_path, capsys):  # noqa: F811
    ck = checkpoints[model]
    page = tmp_path / "page.html"
    assert main(["predict", "--checkpoint", str(ck), "12+7", "--explore", str(page)]) == 0
    answer, wrote = capsys.readouterr().out.splitlines()
    assert wrote == f"wrote {page}"
    browser.get("file://" + os.path.abspath(page))
    maps = js(browser, "return window.tinygradAttn.attention")
    m, meta = load_model(ck)
    assert maps and all(set(a) == {"name", "queries", "keys", "weights", "grads"} for a in maps)
    cross = [a for a in maps if "self_attn" not in a["name"]]
    heads = 1 if model == "attention" else m.decoder[0].cross_attn.num_heads * len(m.decoder)
    assert len(cross) == heads
    for a in cross:  # the answer's tokens against the question's, in reading order
        assert "".join(a["keys"]).strip() == "12+7" and len(a["queries"]) == meta["answer_len"] - 1
        assert np.shape(a["weights"]) == np.shape(a["grads"]) == (len(a["queries"]), len(a["keys"]))
        np.testing.assert_allclose(np.sum(a["weights"], axis=1), 1, rtol=1e-4)
        assert np.abs(a["grads"]).max() > 0
    assert "".join(cross[0]["queries"]).strip() == answer.strip()
    lines = browser.find_elements("css selector", "#lines-w line")
    assert len(lines) == len(cross[0]["queries"]) * len(cross[0]["keys"]) if model == "attention" else len(lines) > 0
    if model == "transformer":  # per head: the select shows another map
        js(browser, "window.tinygradAttn.show(arguments[0])", len(maps) - 1)
        assert browser.find_element("id", "which").get_attribute("value") == str(len(maps) - 1)
    tok = browser.find_element("css selector", "#lines-g text.tok")
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(browser).move_to_element(tok).perform()
    assert "dL/dα=" in browser.find_element("id", "numbers").text
    assert errors(browser) == []


def test_predict_explore_refuses_a_model_without_attention(tmp_path, capsys):
    d = tmp_path
    (d / "s.txt").write_text("\n".join(f"{a}+{a}".ljust(5) + "_" + str(2 * a).ljust(3) for a in range(20)) + "\n")
    ck = d / "s.npz"
    assert main(["train", "--data", str(d / "s.txt"), "--model", "seq2seq", *SMALL, "--save", str(ck)]) == 0
    capsys.readouterr()
    assert main(["predict", "--checkpoint", str(ck), "1+1", "--explore", str(d / "p.html")]) == 2
    assert "--explore: the seq2seq model has no attention" in capsys.readouterr().err
    assert not (d / "p.html").exists()
