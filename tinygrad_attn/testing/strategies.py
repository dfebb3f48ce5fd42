"""Hypothesis strategies for testing ops and whole graphs (public: use them in your own tests).

    from hypothesis import given
    from tinygrad_attn.testing import gradcheck, strategies as tst

    @given(tst.arrays(tst.shapes(), domain="positive"))
    def test_log(x):
        gradcheck(lambda t: t.log(), x)

    @given(tst.op_graphs().flatmap(lambda g: g.inputs().map(lambda xs: (g, xs))))
    def test_graphs(g_xs):
        g, xs = g_xs
        gradcheck(g, *xs)

`op_graphs()` draws random composite expressions over an op table (unary, binary, reduce,
movement, matmul); each choice shrinks towards "just an input", so a failure shrinks to the
smallest graph that still fails, e.g. `tanh(x0)`.
"""

from __future__ import annotations

from .opgraphs import (  # noqa: F401  (the helpers are used by tests that add their own ops)
    OP_TABLE,
    SMOOTH_OPS,
    GraphOp,
    OpGraph,
    _binary_shapes,
    _Leaf,
    _Node,
    _same,
    binary_op,
    graph_cases,
    graph_input,
    graph_node,
    op_graphs,
    op_named,
    unary_op,
)
from .values import DOMAINS, LayerDims, arrays, axes, broadcastable_shapes, layer_dims, shapes, tensors

__all__ = [
    "DOMAINS",
    "OP_TABLE",
    "SMOOTH_OPS",
    "GraphOp",
    "LayerDims",
    "OpGraph",
    "arrays",
    "axes",
    "binary_op",
    "broadcastable_shapes",
    "graph_cases",
    "graph_input",
    "graph_node",
    "layer_dims",
    "op_graphs",
    "op_named",
    "shapes",
    "tensors",
    "unary_op",
]
