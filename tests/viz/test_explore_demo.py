"""`make demo` writes the explorer pages of the 12-step tanh chain and a 6-step RNN and prints their paths."""

import argparse
import json
import os
import re

from tinygrad_attn.commands import demo, study


def test_demo_writes_and_prints_the_explorer_pages(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(study, "run", lambda out, step_frames=True: ([], {}))  # the study has its own tests
    monkeypatch.setattr(study, "reading", lambda numbers: "")
    assert demo.run(argparse.Namespace(out=str(tmp_path), no_frames=True)) == 0
    printed = capsys.readouterr().out
    for name, steps, strip in (("explore_tanh_chain.html", 12, 0), ("explore_rnn_T6.html", 31, 1)):
        path = os.path.join(str(tmp_path), name)
        assert path in printed
        text = open(path, encoding="utf-8").read()
        data = json.loads(re.search(r'id="tg-data">(.*?)</script>', text, re.S).group(1))
        assert len(data["steps"]) == steps and len(data["strip"]) == strip
        assert "window.tinygradAttn" in text
