"""Composite calls note themselves on their outputs (`tinygrad_attn.calls.calls_of`): the explorer's boxes."""

import gc

import numpy as np

import tinygrad_attn as ta
from tinygrad_attn import Tensor
from tinygrad_attn import functional as F
from tinygrad_attn.calls import _CALLS, calls_of


def nodes_between(root, call):
    """Creation numbers of the nodes behind `root` made inside `call`."""
    seen, stack, out = set(), [root], []
    while stack:
        t = stack.pop()
        if id(t) in seen or t.op is None:
            continue
        seen.add(id(t))
        if call.first < t.op.seq <= call.last:
            out.append(t.op.name)
        stack.extend(t.op.inputs)
    return sorted(out)


def test_cross_entropy_is_one_call_holding_its_ops():
    x = Tensor(np.random.default_rng(0).standard_normal((4, 3)), requires_grad=True)
    loss = F.cross_entropy(x.tanh(), np.array([0, 2, 1, 0]))
    (call,) = calls_of(loss)
    assert (call.label, call.kind, call.name) == ("cross_entropy", "function", "")
    assert nodes_between(loss, call) == ["GetItem", "LogSoftmax", "Mean", "Neg", "Reshape"]  # not the Tanh


def test_modules_nest_innermost_first_and_name_their_place():
    ta.seed(0)
    model = ta.nn.AttentionSeq2Seq(vocab_size=6, wordvec_size=4, hidden_size=4)
    logits = model(np.array([[1, 2, 3]]), np.array([[4, 5]]))
    inner, outer = calls_of(logits)
    assert (inner.label, inner.name) == ("Linear", "out") and (outer.label, outer.name) == ("AttentionSeq2Seq", "")
    assert outer.first < inner.first < inner.last <= outer.last


def test_nothing_is_noted_without_grad_and_entries_go_with_their_tensor():
    with ta.no_grad():
        assert calls_of(F.mse_loss(Tensor(np.ones(3)), Tensor(np.zeros(3)))) == ()
    gc.collect()
    before = len(_CALLS)
    y = F.layer_norm(Tensor(np.ones((2, 3)), requires_grad=True))
    assert [c.label for c in calls_of(y)] == ["layer_norm"] and len(_CALLS) == before + 1
    del y
    gc.collect()
    assert len(_CALLS) == before


def test_a_module_returning_its_input_notes_nothing():
    x = Tensor(np.ones(3), requires_grad=True) * 2
    assert ta.nn.Dropout(0.0)(x) is x and calls_of(x) == ()
