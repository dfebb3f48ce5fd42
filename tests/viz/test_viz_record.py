"""viz reads the record: node gradients, edge labels and step order come from `ta.record_backward()`."""

import numpy as np
import pytest
from conftest import record, recorded_chain

import tinygrad_attn as ta
import viz
from tinygrad_attn import Tensor


def edge_into(g, tensor, i):
    """The edge from input i of the op that made `tensor` into that op."""
    fn = tensor.op
    op_id = next(n.id for n in g.nodes if n.kind == "op" and n.fn is fn)
    src = g.node_for(fn.inputs[i]).id
    return next(e for e in g.edges if e.dst == op_id and e.src == src)


def test_record_colours_every_tensor_without_retain_grad():
    x = Tensor(np.array([[1.0, -2.0]]), requires_grad=True, name="x")
    W = Tensor(np.array([[0.5, 0.1, 0.0], [0.2, -0.3, 0.4]]), requires_grad=True, name="W")
    y = (x @ W).tanh()
    loss = y.sum()
    rec = record(loss)
    assert y.grad is None  # the engine kept no intermediate gradient
    g = viz.draw(rec)
    assert g.record is rec
    for t in [x, W, y, loss, y.op.inputs[0]]:
        node = g.node_for(t)
        assert node.status == "grad" and node.grad_norm == pytest.approx(np.linalg.norm(rec.grad_of(t)))
        assert f"|grad| {node.grad_norm:.3g}" == node.label[-1]


def test_scalar_edges_are_the_local_derivative():
    x = Tensor(0.5, requires_grad=True, name="x", dtype=np.float64)
    e = Tensor(1.7, requires_grad=True, name="e", dtype=np.float64)
    y = x.tanh()
    z = y**e  # both inputs scalar tensors: d/dy = e y^(e-1), d/de = y^e log y
    g = viz.draw(record(z))
    assert edge_into(g, y, 0).label == f"×{1 - np.tanh(0.5) ** 2:.3g}"
    yv = np.tanh(0.5)
    assert edge_into(g, z, 0).label == f"×{1.7 * yv**0.7:.3g}"
    assert edge_into(g, z, 1).label == f"×{yv**1.7 * np.log(yv):.3g}"
    assert edge_into(g, z, 0).kind == "derivative" and "contribution / incoming gradient" in edge_into(g, z, 0).tooltip


def test_elementwise_array_edges_show_one_value_or_the_range():
    x = Tensor(np.array([0.1, -0.5, 1.2]), requires_grad=True, name="x")
    y = x * 2.0
    z = y.tanh()
    g = viz.draw(record(z.sum()))
    assert edge_into(g, y, 0).label == "×2" and edge_into(g, y, 0).kind == "derivative"
    d = 1 - np.tanh(2 * x.data) ** 2
    assert edge_into(g, z, 0).label == f"×{d.min():.3g}…{d.max():.3g}" and edge_into(g, z, 0).kind == "range"
    svg = g.pipe("svg").decode()
    assert "edge ×a…b: an elementwise local derivative" in svg.replace("&#45;", "-")


def test_matrix_reduction_and_broadcast_edges_show_the_gain():
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((2, 3)), requires_grad=True, name="x")
    W = Tensor(rng.standard_normal((3, 3)), requires_grad=True, name="W")
    b = Tensor(0.5, requires_grad=True, name="b", dtype=np.float64)
    h = x @ W  # (2, 3) @ (3, 3): the contribution to x has the output's shape, yet MatMul is no elementwise op
    out = h + b
    loss = (out * out).sum()
    rec = record(loss)
    g = viz.draw(rec)
    up = 2 * out.data  # what arrives at h (and at out)
    for i, c in enumerate([up @ W.data.T, x.data.T @ up]):
        e = edge_into(g, h, i)
        assert e.kind == "gain" and e.label == f"gain {np.linalg.norm(c) / np.linalg.norm(up):.3g}"
    broadcast = edge_into(g, out, 1)  # b was broadcast: its gradient is summed back to a scalar
    assert broadcast.kind == "gain" and broadcast.label == f"gain {abs(up.sum()) / np.linalg.norm(up):.3g}"
    total = edge_into(g, loss, 0)  # the sum: each element gets the incoming 1
    assert total.label == f"gain {np.sqrt(out.data.size):.3g}"
    svg = g.pipe("svg").decode().replace("&#45;", "-")
    assert "edge gain g: ||gradient passed to the input|| / ||gradient at the op||" in svg


def test_zero_incoming_gradient_gives_no_label():
    x = Tensor(np.array([-1.0, -2.0]), requires_grad=True, name="x")
    y = x * 3.0
    loss = y.relu().sum()  # relu of negatives passes back exactly 0
    g = viz.draw(record(loss))
    assert g.node_for(y).status == "zero" and edge_into(g, y, 0).label is None
    assert edge_into(g, loss.op.inputs[0], 0).label == "×0"  # relu's own edge: 0 / 1


def test_tooltips_give_the_engine_step_of_each_node():
    rec, h, x = recorded_chain(3)
    g = viz.draw(rec)
    for k, s in enumerate(rec.steps):
        assert f"backward step {k + 1} of 3 (the engine's order)" in g.node_for(s.tensor).tooltip
    assert not any("backward step" in line for line in g.node_for(x).tooltip)  # a leaf is no step


def test_two_runs_in_one_record_add_up():
    x = Tensor(np.array([0.3, 0.4]), requires_grad=True, name="x")
    loss = (x * x).sum()
    with ta.record_backward() as rec:
        loss.backward(retain_graph=True)
        loss.backward()
    g = viz.draw(rec)
    assert g.node_for(x).grad_norm == pytest.approx(2 * np.linalg.norm(2 * x.data))
    assert edge_into(g, loss.op.inputs[0], 0).label == "×0.3…0.4"  # d(x x)/d(first x) = the other x, in each run


def test_a_record_of_two_outputs_draws_both():
    x = Tensor(np.array([0.3, 0.4]), requires_grad=True, name="x")
    a, b = x.tanh().sum(), (x * 2.0).sum()
    a.name, b.name = "a", "b"
    with ta.record_backward() as rec:
        a.backward()
        b.backward()
    g = viz.draw(rec)
    assert g.node_for(a) is not None and g.node_for(b) is not None
    assert g.node_for(x).grad_norm == pytest.approx(np.linalg.norm(x.grad.data))


def test_retained_grads_colour_but_label_no_edge():
    x = Tensor(np.array([0.3, 0.4]), requires_grad=True, name="x")
    y = x.tanh()
    loss = y.sum()
    loss.backward(retain_grad=True)
    g = viz.draw(loss)
    assert g.record is None and g.node_for(y).grad_norm == pytest.approx(np.linalg.norm(y.grad.data))
    assert not any(e.label for e in g.edges)
    assert "edges unlabelled: edge labels come from a backward record" in g.pipe("svg").decode().replace("&#45;", "-")
    assert "edges unlabelled" not in viz.draw(loss, derivatives=False).source


def test_backward_true_records_and_puts_every_grad_back():
    x = Tensor(np.array([0.3, 0.4]), requires_grad=True, name="x")
    y = x.tanh()
    loss = y.sum()
    g = viz.draw(loss, backward=True)
    assert x.grad is None and y.grad is None and loss.grad is None
    assert g.record is not None and g.node_for(x).grad_norm == pytest.approx(np.linalg.norm(1 - np.tanh(x.data) ** 2))
    assert edge_into(g, y, 0).label is not None
    loss.backward()  # the graph is still there: drawing kept it
    assert np.allclose(x.grad.data, 1 - np.tanh(x.data) ** 2)


def test_backward_true_says_what_it_needs():
    x = Tensor(np.array([0.3, 0.4]), requires_grad=True, name="x")
    with pytest.raises(ValueError, match="shape \\(2,\\); backward=True needs a scalar"):
        viz.draw(x.tanh(), backward=True)
    with pytest.raises(ValueError, match="has no graph"):
        viz.draw(x, backward=True)
    loss = x.tanh().sum()
    loss.backward()
    with pytest.raises(RuntimeError, match=r"freed this graph.*ta.record_backward\(\)"):
        viz.draw(loss, backward=True)
    with pytest.raises(TypeError, match="Tensor or a ta.record_backward"):
        viz.draw(np.ones(2))
    with ta.record_backward() as empty:
        pass
    with pytest.raises(ValueError, match="record is empty"):
        viz.draw(empty)


def test_no_gradients_yet_says_how_to_get_them():
    x = Tensor(np.array([0.3, 0.4]), requires_grad=True, name="x")
    g = viz.draw(x.tanh().sum())
    assert {n.status for n in g.nodes if n.kind == "tensor"} == {"plain"} and not any(e.label for e in g.edges)
    assert "viz.draw(loss, backward=True), or draw a ta.record_backward() record" in g.source


def test_drawing_a_record_changes_nothing():
    x = Tensor(np.array([0.3, 0.4]), requires_grad=True, name="x")
    loss = (x.tanh() * 3.0).sum()
    rec = record(loss)
    before = [(s.grad.copy(), [None if c is None else c.copy() for c in s.contributions]) for s in rec.steps]
    grad = x.grad.data.copy()
    viz.draw(rec).pipe("dot")
    assert np.array_equal(grad, x.grad.data) and len(rec.steps) == len(before)
    for s, (g0, cs) in zip(rec.steps, before):
        assert np.array_equal(s.grad, g0) and all(
            (a is None and b is None) or np.array_equal(a, b) for a, b in zip(s.contributions, cs)
        )


class Scale(ta.Function):
    """y = 3 x, a user's own op."""

    def forward(self, x):
        return 3.0 * x

    def backward(self, g, ins, out):
        return 3.0 * g


class ElementwiseScale(Scale):
    elementwise = True


def test_a_users_op_can_say_it_is_elementwise():
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True, name="x")
    plain, marked = Scale.apply(x), ElementwiseScale.apply(x)
    g = viz.draw(record((plain + marked).sum()))
    assert edge_into(g, plain, 0).label == "gain 3"  # the record alone cannot know its Jacobian is diagonal
    assert edge_into(g, marked, 0).label == "×3"


def test_tiny_gradients_keep_their_colour():
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True, name="x")
    g = viz.draw(record((x * 1e-180).sum()))  # squares of 1e-180 underflow float64
    node = g.node_for(x)
    assert node.status == "grad" and node.grad_norm == pytest.approx(np.sqrt(3) * 1e-180, rel=1e-9)


def test_a_gradcheck_failure_can_be_drawn_from_a_record():
    rec, h, x = recorded_chain(2)
    g = viz.draw_gradcheck_failure(rec, x, (), 0.5, 0.25)
    assert g.node_for(x).outline == "#e00000" and any(e.label for e in g.edges)
