"""Backpropagation through time written out by hand in numpy: the oracle for nn.RNN and nn.LSTM.

Row convention, batch-first, as "Deep Learning from Scratch 2" (Saitou) derives it in
chapters 5 and 6: x (N, T, D), W_x (D, G*H), W_h (H, G*H), b (G*H,). Each step's forward keeps
what its backward needs; the backward loop runs over the steps in reverse, carries dh (and
dc) back in time and sums the parameter gradients over the steps. Nothing here uses the engine.
"""

import numpy as np


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def rnn_forward(x, W_x, W_h, b, h0=None):
    """h_t = tanh(h_{t-1} W_h + x_t W_x + b) -> (hs (N, T, H), cache for rnn_backward)."""
    N, T, _ = x.shape
    H = W_h.shape[0]
    h = np.zeros((N, H)) if h0 is None else h0
    hs, steps = np.empty((N, T, H)), []
    for t in range(T):
        h_prev = h
        h = np.tanh(h_prev @ W_h + x[:, t] @ W_x + b)
        steps.append((h_prev, h))
        hs[:, t] = h
    return hs, (x, W_x, W_h, steps)


def rnn_backward(dhs, cache, dh_last=None):
    """Given dL/dhs (N, T, H) (and dL/dh_T): dx, dW_x, dW_h, db, dh0."""
    x, W_x, W_h, steps = cache
    dx = np.zeros_like(x)
    dW_x, dW_h, db = np.zeros_like(W_x), np.zeros_like(W_h), np.zeros(W_h.shape[1])
    dh = np.zeros_like(dhs[:, 0]) if dh_last is None else dh_last.copy()
    for t in reversed(range(x.shape[1])):
        h_prev, h = steps[t]
        dh = dh + dhs[:, t]  # the step's own output and the gradient arriving from step t+1
        da = dh * (1 - h**2)  # through tanh
        db += da.sum(axis=0)
        dW_x += x[:, t].T @ da
        dW_h += h_prev.T @ da
        dx[:, t] = da @ W_x.T
        dh = da @ W_h.T  # to step t-1
    return dx, dW_x, dW_h, db, dh


def lstm_forward(x, W_x, W_h, b, h0=None, c0=None):
    """LSTM with gates [f, g, i, o] -> (hs (N, T, H), (h_T, c_T), cache for lstm_backward)."""
    N, T, _ = x.shape
    H = W_h.shape[0]
    h = np.zeros((N, H)) if h0 is None else h0
    c = np.zeros((N, H)) if c0 is None else c0
    hs, steps = np.empty((N, T, H)), []
    for t in range(T):
        h_prev, c_prev = h, c
        a = x[:, t] @ W_x + h_prev @ W_h + b
        f, g, i, o = sigmoid(a[:, :H]), np.tanh(a[:, H : 2 * H]), sigmoid(a[:, 2 * H : 3 * H]), sigmoid(a[:, 3 * H :])
        c = f * c_prev + g * i
        tc = np.tanh(c)
        h = o * tc
        steps.append((h_prev, c_prev, f, g, i, o, tc))
        hs[:, t] = h
    return hs, (h, c), (x, W_x, W_h, steps)


def lstm_backward(dhs, cache, dh_last=None, dc_last=None):
    """Given dL/dhs (N, T, H) (and dL/dh_T, dL/dc_T): dx, dW_x, dW_h, db, dh0, dc0."""
    x, W_x, W_h, steps = cache
    dx = np.zeros_like(x)
    dW_x, dW_h, db = np.zeros_like(W_x), np.zeros_like(W_h), np.zeros(W_h.shape[1])
    dh = np.zeros_like(dhs[:, 0]) if dh_last is None else dh_last.copy()
    dc = np.zeros_like(dh) if dc_last is None else dc_last.copy()
    for t in reversed(range(x.shape[1])):
        h_prev, c_prev, f, g, i, o, tc = steps[t]
        dh = dh + dhs[:, t]
        do = dh * tc
        dc = dc + dh * o * (1 - tc**2)  # c feeds h through tanh, and step t+1 directly
        df, dg, di = dc * c_prev, dc * i, dc * g
        da = np.concatenate([df * f * (1 - f), dg * (1 - g**2), di * i * (1 - i), do * o * (1 - o)], axis=1)
        db += da.sum(axis=0)
        dW_x += x[:, t].T @ da
        dW_h += h_prev.T @ da
        dx[:, t] = da @ W_x.T
        dh = da @ W_h.T
        dc = dc * f
    return dx, dW_x, dW_h, db, dh, dc
