"""Calling a checked function: fresh float leaves, its outputs as Tensors or one flat array, names of elements."""

from __future__ import annotations

import numpy as np

from .. import Tensor, no_grad


def as_inputs(inputs, dtype=np.float64):
    """Fresh leaves of `dtype` that require grad (integer inputs stay constant); C-contiguous data."""
    out = []
    for x in inputs:
        arr = np.asarray(x.data if isinstance(x, Tensor) else x)
        if arr.dtype.kind == "f":
            data = np.array(arr, dtype=dtype, order="C")
            out.append(Tensor(data, requires_grad=True, name=getattr(x, "name", None)))
        else:
            out.append(Tensor(arr))
    return out


def flatten_outputs(y, who="gradcheck"):
    ys = y if isinstance(y, (tuple, list)) else (y,)
    for t in ys:
        if not isinstance(t, Tensor):
            raise TypeError(f"{who}: fn must return a Tensor or a tuple of Tensors, got {type(t).__name__}")
    return ys


def project(fn, xs, us):
    """<u, fn(xs)> as a Tensor (sum over every output)."""
    ys = flatten_outputs(fn(*xs))
    total = None
    for y, u in zip(ys, us):
        term = (y * u).sum()
        total = term if total is None else total + term
    return total


def outputs_flat(fn, xs):
    """fn(*xs) without a graph, every output as float64, concatenated (a new array)."""
    with no_grad():
        return np.concatenate([np.asarray(y.data, dtype=np.float64).ravel() for y in flatten_outputs(fn(*xs))])


def idx(j):
    """'[1, 2]' for (1, 2); '' for ()."""
    return "" if not j else "[" + ", ".join(str(int(k)) for k in j) + "]"


def out_name(ys, k):
    """'out[1, 2]' (or 'out1[0]' with several outputs) for flat output index k, and (output, index)."""
    for n, y in enumerate(ys):
        size = int(np.prod(np.shape(y), dtype=np.int64))
        if k < size:
            j = tuple(int(i) for i in np.unravel_index(k, np.shape(y)))
            name = "out" if len(ys) == 1 else f"out{n}"
            return name + idx(j), (n, j)
        k -= size
    raise IndexError(k)  # pragma: no cover - k comes from the outputs


def split_cotangent(v, ys):
    """A flat cotangent as one array per output, shaped like it."""
    sizes = [int(np.prod(np.shape(y), dtype=np.int64)) for y in ys]
    return [a.reshape(np.shape(y)) for a, y in zip(np.split(v, np.cumsum(sizes)[:-1]), ys)]
