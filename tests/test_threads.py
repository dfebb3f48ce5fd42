"""Grad mode, scopes and anomaly mode belong to their thread (and async task)."""

import asyncio
import threading

import numpy as np

import tinygrad_attn as ta
from tinygrad_attn import Tensor


def test_no_grad_in_one_thread_does_not_stop_another_from_recording():
    inside, done = threading.Event(), threading.Event()

    def sit_in_no_grad():
        with ta.no_grad():
            inside.set()
            done.wait(5)

    t = threading.Thread(target=sit_in_no_grad)
    t.start()
    inside.wait(5)
    try:
        x = Tensor(np.ones(3), requires_grad=True)
        y = (x * 2).sum()
        assert ta.is_grad_enabled() and y.requires_grad and y.op is not None
        y.backward()
        np.testing.assert_array_equal(x.grad.data, 2.0)
    finally:
        done.set()
        t.join()


def test_interleaved_no_grad_in_two_threads_leaves_grad_mode_on():
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    def a():
        with ta.no_grad():
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def b():
        a_in.wait(5)
        with ta.no_grad():
            b_in.set()
            a_out.wait(5)  # A leaves its block while B is still inside hers

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ta.is_grad_enabled()
    seen = []
    fresh = threading.Thread(target=lambda: seen.append(ta.is_grad_enabled()))
    fresh.start()
    fresh.join()
    assert seen == [True]


_build_lock = threading.Lock()


def _train(k, out, barrier, steps=5):
    with _build_lock:  # ta.seed is process-wide: build each model under a lock
        ta.seed(k)
        rnn = ta.nn.RNN(3, 4)
    x = Tensor(np.random.default_rng(k).standard_normal((2, 5, 3)).astype(np.float32))
    opt = ta.optim.SGD(rnn.parameters(), lr=0.1)
    barrier.wait(5)
    losses = []
    for _ in range(steps):
        with ta.scope(f"worker{k}"):
            hs, _ = rnn(x)
            loss = (hs**2).mean()
        assert hs.op.scope.startswith(f"worker{k}")  # scopes are per thread too
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    out[k] = losses


def test_four_threads_train_at_once_as_they_would_alone():
    alone, together = {}, {}
    for k in range(4):
        _train(k, alone, threading.Barrier(1))
    barrier = threading.Barrier(4)
    threads = [threading.Thread(target=_train, args=(k, together, barrier)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert together == alone and len(alone) == 4


def test_async_tasks_have_their_own_grad_mode():
    async def in_no_grad(ready, release):
        with ta.no_grad():
            ready.set()
            await release.wait()
            return ta.is_grad_enabled()

    async def recorder(ready, release):
        await ready.wait()
        x = Tensor(np.ones(2), requires_grad=True)
        y = x * 3
        release.set()
        return y.requires_grad

    async def main():
        ready, release = asyncio.Event(), asyncio.Event()
        return await asyncio.gather(in_no_grad(ready, release), recorder(ready, release))

    assert asyncio.run(main()) == [False, True]
