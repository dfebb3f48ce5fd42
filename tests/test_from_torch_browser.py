"""The explorer opens a PyTorch `TransformerEncoderLayer`'s backward in headless Chromium, with its parameter names.

Skipped when PyTorch, selenium, Chromium or chromedriver is missing, unless
TINYGRAD_ATTN_REQUIRE_BROWSER=1 (as in CI), where a missing browser is a failure.
"""

import os

import pytest

import viz

torch = pytest.importorskip("torch")
from_torch = pytest.importorskip("tinygrad_attn.from_torch")


@pytest.fixture(scope="module")
def encoder_page(tmp_path_factory):
    """The explorer of one TransformerEncoderLayer's backward (traced: values, module clusters, parameter names)."""
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, batch_first=True)
    x = torch.randn(1, 4, 8, requires_grad=True)
    target = torch.randn(1, 4, 8)
    with from_torch.trace(layer):
        loss = ((layer(x) - target) ** 2).mean()
    page = viz.explore(from_torch.record(loss, names={x: "x"}))
    path = page.save(tmp_path_factory.mktemp("torch") / "encoder_layer.html")
    return path, page, layer


def test_the_explorer_steps_through_a_transformer_encoder_layer_with_its_parameter_names(browser, encoder_page):
    path, page, layer = encoder_page
    browser.get("file://" + os.path.abspath(path))
    steps = browser.execute_script("return window.tinygradAttn.steps")
    assert [(s["id"], s["op"]) for s in steps] == page.steps
    ops = [s["op"] for s in steps]
    assert ops[:3] == ["Mean", "Pow", "Sub"] and "NativeLayerNorm" in ops and "Addmm" in ops
    svg_text = browser.execute_script(
        "return Array.from(document.querySelectorAll('svg text')).map(t => t.textContent).join(' ')"
    )
    for name, _ in layer.named_parameters():
        assert name in svg_text, name  # every parameter's box is labelled by its name
    named = {p.name for s in page.record.steps for p in s.inputs if p.op is None}
    assert {name for name, _ in layer.named_parameters()} | {"x"} == named
    for k, s in enumerate(page.record.steps):
        assert browser.execute_script("return window.tinygradAttn.show(arguments[0])", k) == steps[k]["id"]
        assert browser.execute_script("return window.tinygradAttn.current()") == steps[k]["id"]
        text = browser.find_element("id", "explain").text
        assert f"Step {k + 1} of {len(steps)}" in text
        for p in s.inputs:
            if p.op is None:  # a parameter (or x) that this step passes a gradient to is named in the arithmetic
                assert p.name in text, (k, p.name)
    shots = os.environ.get("TINYGRAD_ATTN_SCREENSHOTS")
    if shots:  # for a person to look at
        browser.save_screenshot(os.path.join(shots, "torch_encoder_layer_explorer.png"))
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
