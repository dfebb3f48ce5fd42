"""`from_torch.record` and `from_torch.trace`: PyTorch's backward pass as our Record, read by viz."""

import numpy as np
import pytest

import viz
from tinygrad_attn.record import Record

torch = pytest.importorskip("torch")
from_torch = pytest.importorskip("tinygrad_attn.from_torch")


def tanh_rnn(T=5, H=3, seed=0):
    """A hand-written torch RNN in float64: (loss, W, x, hidden states)."""
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(H, H, generator=g, dtype=torch.float64, requires_grad=True)
    x = torch.randn(2, H, generator=g, dtype=torch.float64, requires_grad=True)
    h, hs = x, []
    for _ in range(T):
        h = torch.tanh(h @ W + x)
        hs.append(h)
    return (h * h).sum(), W, x, hs


def hook_order(loss):
    """PyTorch's own order of its nodes, told by hooks registered here (independent of from_torch)."""
    nodes, seen, stack, order = [], set(), [loss.grad_fn], []
    while stack:
        n = stack.pop()
        if n is None or n in seen:
            continue
        seen.add(n)
        nodes.append(n)
        stack += [nf for nf, _ in n.next_functions]
    handles = [n.register_hook(lambda gi, go, n=n: order.append(n.name())) for n in nodes]
    torch.autograd.grad(loss, [n.variable for n in nodes if hasattr(n, "variable")], retain_graph=True)
    for h in handles:
        h.remove()
    return [n for n in order if "AccumulateGrad" not in n]


def check_sums(rec):
    """Every tensor's contributions, added in the recorded order, give exactly the gradient it received."""
    for s in rec.steps:
        if s.index == 0:
            continue
        parts = [c for _, _, c in rec.contributions_to(s.tensor)]
        total = parts[0]
        for c in parts[1:]:
            total = total + c
        assert np.array_equal(total, s.grad), s
    for leaf in rec.leaves:
        parts = [c for _, _, c in rec.contributions_to(leaf.tensor)]
        total = parts[0]
        for c in parts[1:]:
            total = total + c
        assert np.array_equal(total, leaf.grad), leaf


def test_the_record_is_our_record_in_pytorchs_order_with_its_op_names():
    loss, W, x, hs = tanh_rnn()
    rec = from_torch.record(loss)
    assert isinstance(rec, Record)
    assert [s.op for s in rec.steps] == [n.rsplit("::", 1)[-1].replace("Backward0", "") for n in hook_order(loss)]
    assert [s.op for s in rec.steps[:4]] == ["Sum", "Mul", "Tanh", "Add"]
    assert {s.op for s in rec.steps} == {"Sum", "Mul", "Tanh", "Add", "Mm"}
    assert all(isinstance(s.grad, np.ndarray) and s.grad.shape == s.tensor.shape for s in rec.steps)
    assert rec.steps[0].grad == 1.0 and rec.steps[0].tensor.name == "loss"


def test_each_step_gets_pytorchs_own_incoming_gradient_bit_for_bit():
    loss, W, x, hs = tanh_rnn()
    rec = from_torch.record(loss)
    seen = {}

    def keep(k):  # PyTorch's own grad_outputs of the node of step k, caught by a hook of our own
        def hook(grad_inputs, grad_outputs):
            seen[k] = grad_outputs[0].detach().numpy().copy()

        return hook

    handles = [s.fn.node.register_hook(keep(s.index)) for s in rec.steps]
    torch.autograd.grad(loss, [W, x], retain_graph=True)
    for h in handles:
        h.remove()
    assert len(seen) == len(rec.steps)
    for s in rec.steps:
        assert np.array_equal(s.grad, seen[s.index]), s


def test_a_hook_on_a_tensor_shapes_what_is_passed_on_not_what_arrived():
    x = torch.randn(3, requires_grad=True)
    h = x.tanh()
    h.register_hook(lambda g: g * 2)
    loss = (h * 3).sum()
    rec = from_torch.record(loss, names={h: "h"})
    step = next(s for s in rec.steps if s.tensor.name == "h")
    np.testing.assert_array_equal(step.grad, np.full(3, 3.0, np.float32))  # as ours: before the hook
    np.testing.assert_allclose(step.contributions[0], 6.0 * (1 - h.detach().numpy() ** 2), rtol=1e-6)
    check_sums(rec)


def test_contributions_sum_exactly_and_leaves_get_pytorchs_gradients():
    loss, W, x, hs = tanh_rnn()
    rec = from_torch.record(loss)
    check_sums(rec)
    gW, gx = torch.autograd.grad(loss, [W, x], retain_graph=True)
    assert np.array_equal(rec.grad_of(W), gW.numpy()) and np.array_equal(rec.grad_of(x), gx.numpy())
    assert len(rec.contributions_to(W)) == 5 and len(rec.contributions_to(x)) == 6  # once per step, and h_0
    for h in hs:  # intermediate tensors too: the gradient of each h_t is PyTorch's
        (g,) = torch.autograd.grad(loss, [h], retain_graph=True)
        np.testing.assert_array_equal(rec.grad_of(h), g.numpy())
    assert rec.grad_of(torch.zeros(2)) is None and rec.contributions_to(torch.zeros(2)) == []


def test_nothing_of_the_users_grad_changes_and_the_loss_can_still_be_trained_on():
    loss, W, x, hs = tanh_rnn()
    W.grad = torch.full_like(W, 7.0)
    before = W.grad
    hs[2].retain_grad()
    from_torch.record(loss)
    assert W.grad is before and torch.all(W.grad == 7.0) and x.grad is None
    assert hs[2].grad is None  # a retain_grad() tensor keeps what it had (nothing)
    viz.draw(loss)
    assert W.grad is before and hs[2].grad is None
    rec = from_torch.record(loss)
    W.grad = None
    loss.backward()  # the graph was retained: training goes on, with the recorded gradients
    np.testing.assert_array_equal(W.grad.numpy(), rec.grad_of(W))
    assert hs[2].grad is not None


def test_names_come_from_the_module_or_a_dict_and_intermediates_can_be_named():
    lin = torch.nn.Linear(3, 2)
    x = torch.randn(4, 3)
    h = lin(x).tanh()
    loss = h.sum()
    rec = from_torch.record(loss, module=lin, names={h: "h"})
    names = {t.name for t in rec.tensors()}
    assert {"weight", "bias", "h", "loss"} <= names
    assert rec.tensor_for(h).name == "h" and rec.tensor_for(lin.weight).name == "weight"
    rec = from_torch.record(loss, module=lin, names={lin.weight: "W"})
    assert rec.tensor_for(lin.weight).name == "W"  # a name given wins over the module's
    with pytest.raises(ValueError, match="not in the loss's graph: x"):
        from_torch.record(loss, names={x: "x"})  # x needs no gradient: PyTorch's graph has no trace of it


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = torch.nn.Linear(4, 4)
        self.ff = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 4))

    def forward(self, x):
        return self.ff(self.attn(x).relu()) + x


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = torch.nn.ModuleList([Block(), Block()])

    def forward(self, x):
        for block in self.encoder:
            x = block(x)
        return x


def test_trace_adds_values_and_module_scopes_and_collapsing_works_by_module_name():
    torch.manual_seed(0)
    net = Net()
    x = torch.randn(3, 4, requires_grad=True)
    with from_torch.trace(net) as tracer:
        out = net(x)
        loss = (out**2).mean()
    assert tracer.nodes > 10
    rec = from_torch.record(loss, names={out: "out"})
    assert all(s.tensor.known for s in rec.steps)
    np.testing.assert_array_equal(rec.tensor_for(out).data, out.detach().numpy())
    scopes = {s.scope for s in rec.steps}
    assert "encoder.0/encoder.0.ff/encoder.0.ff.2" in scopes and "encoder.1/encoder.1.attn" in scopes
    assert rec.tensor_for(net.encoder[1].ff[0].weight).name == "encoder.1.ff.0.weight"  # the traced module's names
    g = viz.draw(rec, collapse="encoder.1.ff")
    summaries = [n.summary_of for n in g.nodes if n.kind == "summary"]
    assert summaries == ["encoder.1/encoder.1.ff"]
    assert any(n.tensor is not None and n.tensor.name == "encoder.0.ff.0.weight" for n in g.nodes)


def test_ta_scope_inside_trace_tags_time_steps():
    import tinygrad_attn as ta

    W = torch.randn(3, 3, requires_grad=True)
    h = torch.zeros(1, 3)
    with from_torch.trace():
        for t in range(3):
            with ta.scope(f"t={t}"):
                h = (h @ W + 1).tanh()
        loss = h.sum()
    rec = from_torch.record(loss)
    assert [s.scope for s in rec.steps if s.op == "Tanh"] == ["t=2", "t=1", "t=0"]


def test_a_multi_output_node_is_one_step_after_a_picker_per_output():
    x = torch.randn(2, 6, requires_grad=True)
    with from_torch.trace():
        a, b, c = (x * 2).chunk(3, dim=1)
        loss = (a.tanh() * b).sum() + c.sum()
    rec = from_torch.record(loss, names={a: "a", b: "b", c: "c"})
    check_sums(rec)
    split = next(s for s in rec.steps if s.op == "Split")
    pickers = [s for s in rec.steps if s.op == "Output"]
    assert [s.tensor.name for s in pickers] == ["a", "b", "c"] and all(p.index < split.index for p in pickers)
    assert split.tensor.shape == (12,) and split.tensor.name == "Split outputs"
    packed = np.concatenate([rec.grad_of(t).reshape(-1) for t in (a, b, c)])
    np.testing.assert_array_equal(split.grad, packed)
    np.testing.assert_array_equal(rec.tensor_for(b).data, b.detach().numpy())
    (gx,) = torch.autograd.grad(loss, [x], retain_graph=True)
    np.testing.assert_array_equal(rec.grad_of(x), gx.numpy())


def test_an_nn_lstm_is_one_fused_node_drawn_as_one_labelled_box():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 4, batch_first=True)
    x = torch.randn(2, 5, 3)
    with from_torch.trace(lstm):
        y, (h, c) = lstm(x)
        loss = y.sum() + h.sum()
    rec = from_torch.record(loss)
    fused = [s for s in rec.steps if type(s.fn).fused]
    assert len(fused) == 1 and "recurrent layer" in type(fused[0].fn).fused
    assert {p.name for p in fused[0].inputs} == {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"}
    check_sums(rec)
    g = viz.draw(rec)
    boxes = [n for n in g.nodes if n.kind == "op" and n.fn is fused[0].fn]
    assert len(boxes) == 1 and boxes[0].label == [fused[0].op]
    assert any("Fused by PyTorch" in line for line in boxes[0].tooltip)
    (gw,) = torch.autograd.grad(loss, [lstm.weight_hh_l0], retain_graph=True)
    np.testing.assert_array_equal(rec.grad_of(lstm.weight_hh_l0), gw.numpy())


def test_in_place_writes_are_nodes_of_their_own():
    a = torch.randn(3, 3, requires_grad=True)
    with from_torch.trace():
        b = a * 2
        b[:, 0] = b[:, 0].tanh()
        b.mul_(3)
        loss = b.sum()
    rec = from_torch.record(loss)
    assert [s.op for s in rec.steps] == ["Sum", "Mul", "CopySlices", "Tanh", "Select", "Mul"]
    assert all(s.tensor.known for s in rec.steps)
    copy = next(s for s in rec.steps if s.op == "CopySlices")
    np.testing.assert_allclose(copy.tensor.data, b.detach().numpy() / 3)
    check_sums(rec)


def test_untraced_values_are_nan_and_the_pictures_still_draw():
    loss, W, x, hs = tanh_rnn(T=2)
    rec = from_torch.record(loss)
    tanh = next(s for s in rec.steps if s.op == "Tanh")
    assert not tanh.tensor.known and np.isnan(tanh.tensor.data).all()
    assert rec.tensor_for(W).known and np.array_equal(rec.tensor_for(W).data, W.detach().numpy())
    assert float(rec.steps[0].tensor.data) == pytest.approx(loss.item())


def test_viz_draw_explore_and_frames_take_a_torch_loss(tmp_path):
    loss, W, x, hs = tanh_rnn(T=3)
    g = viz.draw(loss)
    assert isinstance(g.record, from_torch.TorchRecord) and "Tanh" in g.source
    page = viz.explore(loss)
    assert [op for _, op in page.steps] == [s.op for s in page.record.steps]
    assert page.steps[0][1] == "Sum" and "backprop through loss" in page.html
    paths = viz.frames(loss, tmp_path)
    assert len(paths) == len(page.record.steps) and (tmp_path / "index.html").exists()


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda: torch.randn(3, requires_grad=True), ValueError, "has no graph"),
        (lambda: torch.randn(3, requires_grad=True).tanh(), ValueError, "shape (3,)"),
        (lambda: np.zeros(()), TypeError, "expected a PyTorch tensor"),
    ],
)
def test_bad_input_gets_a_clear_error(make, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        from_torch.record(make())


def test_a_freed_graph_says_how_to_keep_it():
    loss = torch.randn(3, requires_grad=True).tanh().sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="freed this graph"):
        from_torch.record(loss)
    with pytest.raises(TypeError, match="torch.nn.Module"):
        from_torch.record(torch.randn(3, requires_grad=True).sum(), module="model")
    with pytest.raises(TypeError, match="torch.nn.Module"):
        with from_torch.trace("model"):
            pass
