"""Big graphs: drawing is linear in the inputs of one op and in the length of a chain."""

import numpy as np
from conftest import record

import tinygrad_attn as ta
import viz
from tinygrad_attn import Tensor


def stacked(n):
    """The record of backward through one stack of n scalars, summed (every edge labelled from the record)."""
    xs = [Tensor(np.float64(i), requires_grad=True) for i in range(n)]
    return record((ta.stack(xs) * 2.0).sum())


def test_a_stack_of_thousands_of_inputs_draws_within_the_node_budget():
    """A 6,000-input stack folds into at most max_nodes nodes (draw time: docs/pictures.md)."""
    g = viz.draw(stacked(6000))
    assert len(g.nodes) <= 400 and g.model.collapsed


def test_stack_inputs_are_all_drawn_below_the_budget():
    g = viz.draw(stacked(50), max_nodes=None)
    assert sum(n.kind == "tensor" for n in g.nodes) == 54  # 50 inputs, the stack, the constant 2, the product, the sum
    stack = next(n.id for n in g.nodes if n.kind == "op" and n.label == ["Stack"])
    into_stack = [e for e in g.edges if e.dst == stack and e.label and e.label.startswith("gain")]
    assert len(into_stack) == 50 and into_stack[3].label == f"gain {2 / np.linalg.norm(np.full(50, 2.0)):.3g}"
