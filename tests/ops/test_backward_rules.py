"""Each op's `backward` is the textbook rule; its in-place fast path (`backward_in_place`) gives the same numbers.

The explorer and the docs show `backward`; the sweep runs `backward_in_place` on ndarrays. So
`backward` must hold no in-place array code, and the fast path must equal it: bit for bit
where it claims the same bits, up to rounding otherwise, and never writing into its inputs.
"""

import ast
import inspect
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_attn as ta
from tinygrad_attn import Tensor, ops
from tinygrad_attn.function import Function
from tinygrad_attn.ops.cells import LSTMCell
from tinygrad_attn.testing import strategies as tst


def _op_classes():
    import tinygrad_attn.ops.cells  # noqa: F401  (not re-exported by ops/__init__)

    found, todo = [], list(Function.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("tinygrad_attn.ops."):
            found.append(cls)
    return sorted(found, key=lambda c: c.__name__)


def in_place_code(fn) -> list[str]:
    """What in a function's source writes into an array: `x op= y`, `out=` keywords, `x[...] = y`."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.AugAssign):
            found.append(f"line {node.lineno}: augmented assignment")
        elif isinstance(node, ast.keyword) and node.arg == "out":
            found.append(f"line {node.lineno}: out= keyword")
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Subscript) for t in node.targets):
            found.append(f"line {node.lineno}: item assignment")
    return found


OPS = _op_classes()


def test_every_op_is_seen():
    names = {c.__name__ for c in OPS}
    assert {"Add", "Tanh", "Sigmoid", "Softmax", "LogSoftmax", "MatMul", "GetItem", "LSTMCell"} <= names


@pytest.mark.parametrize("op", OPS, ids=lambda c: c.__name__)
def test_backward_holds_no_in_place_array_code(op):
    assert in_place_code(op.backward) == []


def test_the_checker_sees_in_place_code():
    assert len(in_place_code(ops.Tanh.backward_in_place)) == 2  # out=, *=
    assert in_place_code(ops.Tanh.backward) == []


FAST = [c for c in OPS if "backward_in_place" in vars(c)]


def test_the_fast_paths_are_the_ones_the_sweep_uses():
    assert {c.__name__ for c in FAST} == {"Tanh", "Sigmoid", "Softmax", "LogSoftmax", "LSTMCell"}
    for c in FAST:
        assert c.array_backward is c.backward_in_place
    assert ops.Add.array_backward is ops.Add.backward


def test_a_subclass_overriding_backward_gets_its_own_rule():
    class Wrong(ops.Tanh):
        def backward(self, g, ins, out):
            return g * 2

    x = Tensor(np.array([0.3, -0.2]), requires_grad=True)
    Wrong.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])


def _compare(op_cls, arrays, g, same_bits, **params):
    tensors = [Tensor(a, requires_grad=True) for a in arrays]
    out = op_cls.apply(*tensors, **params)
    fn = out.op
    ins = [a.copy() for a in arrays]
    out_before, g_before = out.data.copy(), g.copy()
    slow = fn.backward(g, ins, out.data)
    fast = fn.backward_in_place(g, ins, out.data)
    np.testing.assert_array_equal(g, g_before)  # nothing written into the incoming gradient
    np.testing.assert_array_equal(out.data, out_before)  # nor into the saved output
    slow = slow if isinstance(slow, tuple) else (slow,)
    fast = fast if isinstance(fast, tuple) else (fast,)
    assert len(slow) == len(fast)
    for s, f in zip(slow, fast):
        if s is None:
            assert f is None
        elif same_bits:
            np.testing.assert_array_equal(f, s)
        else:
            np.testing.assert_allclose(f, s, rtol=1e-12, atol=1e-14)


@settings(max_examples=40, deadline=None)
@given(x=tst.arrays(tst.shapes(min_dims=0, max_dims=3)), data=st.data())
@pytest.mark.parametrize(("op", "same_bits"), [(ops.Tanh, True), (ops.Sigmoid, False)])
def test_elementwise_fast_paths_equal_the_rule(op, same_bits, x, data):
    g = data.draw(tst.arrays(st.just(x.shape)))
    _compare(op, [x], g, same_bits)


@settings(max_examples=40, deadline=None)
@given(x=tst.arrays(tst.shapes(min_dims=1, max_dims=3)), data=st.data())
@pytest.mark.parametrize("op", [ops.Softmax, ops.LogSoftmax])
def test_softmax_fast_paths_equal_the_rule(op, x, data):
    g = data.draw(tst.arrays(st.just(x.shape)))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    _compare(op, [x], g, True, axis=axis)


@settings(max_examples=30, deadline=None)
@given(
    N=st.integers(1, 4),
    H=st.integers(1, 4),
    K=st.integers(1, 3),
    form=st.sampled_from([1, 2, 4]),
    seed=st.integers(0, 99),
)
def test_lstm_cell_fast_path_equals_the_rule(N, H, K, form, seed):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((N, 4 * H)), rng.standard_normal((N, H)), rng.standard_normal((N, K))]
    arrays = arrays[:form] if form < 4 else arrays + [rng.standard_normal((K, 4 * H))]
    _compare(LSTMCell, arrays, rng.standard_normal((N, 2 * H)), False)


def test_plain_backward_runs_the_fast_path_and_create_graph_the_rule(monkeypatch):
    calls = []
    for name in ("backward", "backward_in_place"):
        original = getattr(ops.Tanh, name)

        def spy(self, g, ins, out, _name=name, _original=original):
            calls.append(_name)
            return _original(self, g, ins, out)

        monkeypatch.setattr(ops.Tanh, name, spy)
    monkeypatch.setattr(ops.Tanh, "array_backward", ops.Tanh.backward_in_place)
    x = Tensor(np.array([0.1, 0.2]), requires_grad=True)
    x.tanh().sum().backward()
    assert calls == ["backward_in_place"]
    calls.clear()
    x.grad = None
    with ta.enable_grad():
        x.tanh().sum().backward(create_graph=True)
    assert calls == ["backward"]
