"""Module registry: order, dotted names, train/eval, state_dict round trips and errors."""

import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import Tensor, nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.norm = nn.LayerNorm(4)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.drop(self.norm(self.fc(x)))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(np.ones(4, np.float32))
        self.encoder = Block()
        self.layers = nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 2)])


def test_named_parameters_are_ordered_and_dotted():
    names = [n for n, _ in Net().named_parameters()]
    assert names == [
        "scale",
        "encoder.fc.W",
        "encoder.fc.b",
        "encoder.norm.weight",
        "encoder.norm.bias",
        "layers.0.W",
        "layers.0.b",
        "layers.1.W",
        "layers.1.b",
    ]


def test_parameter_names_follow_the_dotted_path():
    net = Net()
    for name, p in net.named_parameters():
        assert p.name == name


def test_names_stay_dotted_whatever_the_order_of_assembly():
    net = Net()
    net.layers.append(nn.Linear(2, 2))  # appended after the list was attached
    net.encoder.extra = nn.Linear(1, 1)  # a grandchild added late
    for name, p in net.named_parameters():
        assert p.name == name
    assert net.layers[2].W.name == "layers.2.W" and net.encoder.extra.b.name == "encoder.extra.b"


def test_parameters_require_grad_and_shared_ones_count_once():
    net = Net()
    net.tied = net.encoder.fc  # the same module twice
    params = net.parameters()
    assert all(p.requires_grad for p in params)
    assert len(params) == len({id(p) for p in params}) == 9


def test_zero_grad_drops_every_gradient():
    net = Block()
    net(Tensor(np.ones((2, 3), np.float32))).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_train_eval_propagate_to_children():
    net = Net()
    net.eval()
    assert not any(m.training for _, m in net.named_modules())
    net.train()
    assert all(m.training for _, m in net.named_modules())


def test_dropout_is_identity_in_eval_and_scales_in_train():
    d = nn.Dropout(0.5)
    x = Tensor(np.ones((200, 50), np.float32))
    y = d(x).data
    assert set(np.unique(y)) <= {0.0, 2.0} and 0.4 < (y == 0).mean() < 0.6
    d.eval()
    assert d(x) is x


def test_state_dict_round_trip():
    a, b = Net(), Net()
    sd = a.state_dict()
    assert list(sd) == [n for n, _ in a.named_parameters()]
    b.load_state_dict(sd)
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data)
        assert q.dtype == np.float32
    sd["scale"][:] = 7  # a copy: the model is untouched
    assert not (a.scale.data == 7).any()


def test_load_state_dict_lists_every_problem_in_one_error():
    net = Net()
    sd = net.state_dict()
    del sd["encoder.fc.b"]
    sd["extra.W"] = np.zeros(3)
    sd["layers.1.W"] = np.zeros((5, 5))
    with pytest.raises(ValueError) as e:
        net.load_state_dict(sd)
    msg = str(e.value)
    assert "missing keys: encoder.fc.b" in msg
    assert "unexpected keys: extra.W" in msg
    assert "layers.1.W: checkpoint (5, 5) vs model (4, 2)" in msg


def test_load_state_dict_non_strict_ignores_missing_and_unexpected():
    net = Net()
    net.load_state_dict({"scale": np.full(4, 3.0), "other": np.zeros(1)}, strict=False)
    np.testing.assert_array_equal(net.scale.data, 3.0)


def test_assigning_a_non_tensor_over_a_parameter_fails():
    net = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="Linear.W"):
        net.W = 3


def test_module_without_super_init_fails_clearly():
    class Bad(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match="super"):
        Bad()


def test_sequential_and_module_list():
    seq = nn.Sequential(nn.Linear(3, 5), nn.Linear(5, 2))
    assert seq(Tensor(np.ones((4, 3), np.float32))).shape == (4, 2)
    assert len(seq) == 2 and seq[-1] is list(seq)[1]
    assert [n for n, _ in seq.named_parameters()] == ["0.W", "0.b", "1.W", "1.b"]
    with pytest.raises(TypeError):
        nn.ModuleList([3])


def test_to_float64():
    net = Net().to(np.float64)
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert "Linear(3, 4" in repr(net)


def test_seeded_initialisation_is_reproducible():
    ta.seed(3)
    a = Net().state_dict()
    ta.seed(3)
    b = Net().state_dict()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
