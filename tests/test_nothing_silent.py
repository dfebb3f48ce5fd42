"""The engine's promises at their edges: each case once gave a silent wrong answer or a misleading error."""

import threading

import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import Tensor
from tinygrad_attn import functional as F
from tinygrad_attn.optim import SGD, clip_grad_norm_


def ones_w():
    return Tensor(np.ones((2, 3), np.float32), requires_grad=True)


# ---- 1. a view shares its base's version counter ---------------------------------------------
VIEWS = {
    "getitem_row": lambda w: w[0],
    "slice": lambda w: w[0:2],
    "reshape": lambda w: w.reshape(3, 2),
    "transpose": lambda w: w.T,
    "detach_reshape": lambda w: w.detach().reshape(6),
    "detach_slice": lambda w: w.detach()[1],
    "view_of_view": lambda w: w.reshape(6)[2:5],
}


@pytest.mark.parametrize("view", VIEWS, ids=list(VIEWS))
def test_a_write_through_a_view_after_the_base_was_saved_raises(view):
    w = ones_w()
    y = (w * w).sum()
    with ta.no_grad():
        r = VIEWS[view](w)
        r -= 1.0
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


@pytest.mark.parametrize("view", [v for v in VIEWS if not v.startswith("detach")])
def test_a_write_to_the_base_after_a_view_was_saved_raises(view):
    w = ones_w()
    with ta.no_grad():
        base = w.detach()
    r = VIEWS[view](w)
    y = (r * r).sum()
    with ta.no_grad():
        base += 1.0
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_a_view_made_after_a_write_is_not_flagged():
    w = ones_w()
    with ta.no_grad():
        w.detach()[0] -= 1.0  # version 1, before anything was saved
    r = w[1]
    (r * r).sum().backward()
    np.testing.assert_array_equal(w.grad.data, [[0, 0, 0], [2, 2, 2]])


# ---- 2. concurrent backward loses no update ----------------------------------------------------
@pytest.mark.parametrize("shared_graph", [False, True])
def test_threads_accumulate_every_update(shared_graph):
    rng = np.random.default_rng(0)
    W = Tensor(rng.standard_normal((256, 256)), requires_grad=True)  # large: numpy releases the GIL in the sum
    X = Tensor(rng.standard_normal((32, 256)))
    loss = (X @ W).sum() if shared_graph else None
    threads, runs, barrier = 4, 40, threading.Barrier(4)

    def work():
        barrier.wait()
        for _ in range(runs):
            (loss if shared_graph else (X @ W).sum()).backward(retain_graph=shared_graph)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    one = X.data.sum(axis=0)[:, None] * np.ones((1, 256))
    np.testing.assert_allclose(W.grad.data, threads * runs * one, rtol=1e-12)


# ---- 3. hooks and custom rules cannot corrupt a sibling's gradient -----------------------------
def test_a_hook_writing_into_its_gradient_is_refused_and_the_sibling_keeps_its_own():
    a = Tensor(np.zeros(3), requires_grad=True)
    t = Tensor(np.zeros(3), requires_grad=True)
    t.register_hook(lambda g: g.__imul__(100))
    with pytest.raises(ValueError, match="read-only .*hook"):
        ((a + t) * 1.0).sum().backward()


def test_a_hook_returning_a_new_gradient_changes_only_its_tensor():
    a = Tensor(np.zeros(3), requires_grad=True)
    t = Tensor(np.zeros(3), requires_grad=True)
    t.register_hook(lambda g: g * 100)
    ((a + t) * 1.0).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [1, 1, 1])
    np.testing.assert_array_equal(t.grad.data, [100, 100, 100])


def test_a_hook_on_an_intermediate_writing_in_place_is_refused():
    a = Tensor(np.ones(3), requires_grad=True)
    h = a * 2.0
    h.register_hook(lambda g: g.__iadd__(1))
    with pytest.raises(ValueError, match="iadd: .*read-only"):
        (h + a).sum().backward()


class WritesIntoG(ta.Function):
    def forward(self, x):
        return x * 2

    def backward(self, g, ins, out):
        g *= 2
        return g


def test_a_custom_backward_writing_into_g_is_refused_by_name():
    x = Tensor(np.ones(3), requires_grad=True)
    y = WritesIntoG.apply(x)
    with pytest.raises(ValueError, match=r"WritesIntoG: backward wrote into its incoming gradient g \(shape \(3,\)\)"):
        (y + y).sum().backward()


# ---- 4. two leaves never share one .grad -------------------------------------------------------
def test_leaves_under_create_graph_get_their_own_grad_and_clip_scales_each_once():
    c = Tensor(np.array([0.6, 0.8]), requires_grad=True)
    d = Tensor(np.array([0.6, 0.8]), requires_grad=True)
    ((c + d) * Tensor(np.array([0.6, 0.8]))).sum().backward(create_graph=True)  # Add hands one g to both
    assert c.grad is not d.grad and not np.shares_memory(c.grad.data, d.grad.data)
    clip_grad_norm_([c, d], 0.5 * np.sqrt(2))  # total norm sqrt(2): each scaled by 0.5, once
    np.testing.assert_allclose(c.grad.data, [0.3, 0.4], rtol=1e-5)
    np.testing.assert_allclose(d.grad.data, [0.3, 0.4], rtol=1e-5)


# ---- 5. the constructor copies ------------------------------------------------------------------
def test_tensor_of_a_tensor_or_an_array_copies_so_a_step_moves_one():
    arr = np.ones(3, np.float32)
    p = Tensor(arr, requires_grad=True)
    q = Tensor(p, requires_grad=True)
    assert not np.shares_memory(p.data, arr) and not np.shares_memory(p.data, q.data)
    (p.sum() + q.sum()).backward()
    SGD([p, q], lr=0.5).step()
    np.testing.assert_array_equal(p.data, [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(q.data, [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(arr, [1, 1, 1])


def test_detach_still_shares():
    p = Tensor(np.ones(2), requires_grad=True)
    d = p.detach()
    assert np.shares_memory(p.data, d.data)


# ---- 6. float16 reductions ----------------------------------------------------------------------
def test_float16_mean_and_layer_norm_do_not_overflow():
    assert Tensor(np.full(4000, 20, np.float16)).mean().item() == 20.0
    x = np.random.default_rng(0).standard_normal((2, 4096)).astype(np.float16) * 30
    y = F.layer_norm(Tensor(x))
    assert y.dtype == np.float16 and np.isfinite(y.data).all()
    ref = (x.astype(np.float64) - x.astype(np.float64).mean(-1, keepdims=True)) / x.astype(np.float64).std(
        -1, keepdims=True
    )
    np.testing.assert_allclose(y.data.astype(np.float64), ref, atol=0.02)


# ---- 8. nested records ------------------------------------------------------------------------
def test_a_record_inside_a_record_fills_both():
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    with ta.record_backward() as outer:
        x.tanh().sum().backward()
        with ta.record_backward() as inner:
            (x * x).sum().backward()
    assert [s.op for s in inner.steps] == ["Sum", "Mul"] and inner.runs == 1
    assert [s.op for s in outer.steps] == ["Sum", "Tanh", "Sum", "Mul"] and outer.runs == 2
    assert [s.index for s in outer.steps] == [0, 1, 2, 3] and [s.run for s in outer.steps] == [0, 0, 1, 1]
    np.testing.assert_allclose(outer.grad_of(x), x.grad.data)


# ---- 10. smaller ones ----------------------------------------------------------------------------
def test_int_to_a_negative_power_names_the_dtype():
    with pytest.raises(ValueError, match="pow: an integer tensor .*negative integer power"):
        Tensor(np.array([1, 2])) ** -1


def test_in_place_on_read_only_data_says_read_only():
    t = ta.Tensor(np.ones(3))
    t.data.flags.writeable = False
    with pytest.raises(ValueError, match="imul: .*read-only"):
        t *= 2


def _flaky():
    calls = []

    class FailsOnce(ta.Function):
        def forward(self, x):
            return x * 3

        def backward(self, g, ins, out):
            if not calls:
                calls.append(1)
                raise ValueError("flaky")
            return g * 3

    return FailsOnce


def test_a_retry_after_a_backward_that_raised_halfway_names_the_earlier_error():
    x = Tensor(np.ones(2), requires_grad=True)
    y = (_flaky().apply(x).tanh() * 2).sum()
    with pytest.raises(ValueError, match="flaky"):
        y.backward()
    with pytest.raises(RuntimeError, match=r"freed by an earlier backward that raised halfway \(ValueError: flaky\)"):
        y.backward()


def test_a_retry_works_when_the_failing_backward_retained_the_graph():
    x = Tensor(np.ones(2), requires_grad=True)
    y = (_flaky().apply(x).tanh() * 2).sum()
    with pytest.raises(ValueError, match="flaky"):
        y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.data, 6 * (1 - np.tanh(3.0) ** 2))


@pytest.mark.parametrize(
    ("result", "what"),
    [(None, "NoneType"), ("abc", "str"), (np.ones(2, complex), "complex128"), (object(), "object")],
)
def test_a_forward_returning_no_real_numbers_is_refused(result, what):
    class Odd(ta.Function):
        def forward(self, x):
            return result

        def backward(self, g, ins, out):
            return g

    with pytest.raises(TypeError, match=f"Odd: forward returned .*{what}.*real numeric ndarray"):
        Odd.apply(Tensor(np.ones(2), requires_grad=True))


def test_an_integer_output_does_not_require_grad():
    class ArgMax(ta.Function):
        def forward(self, x):
            return np.argmax(x, axis=-1)

        def backward(self, g, ins, out):
            return None

    y = ArgMax.apply(Tensor(np.ones((2, 3)), requires_grad=True))
    assert y.dtype.kind == "i" and not y.requires_grad and y.op is None
