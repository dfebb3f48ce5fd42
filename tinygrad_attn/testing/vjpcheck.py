"""vjp_check: first and second derivatives, the second by checking x -> J(x)^T u (built with create_graph)."""

from __future__ import annotations

import numpy as np

from .. import Tensor, enable_grad, no_grad, record_backward
from .calls import as_inputs, flatten_outputs, project
from .error import GradcheckError
from .gradcheck import DENSE_UP_TO, _dense, _dense_error, check, dense, report


def vjp_check(
    fn, *inputs, order=2, eps=None, atol=None, rtol=None, seed=0, full=False, directions=4, dense_up_to=DENSE_UP_TO,
    _level=1,
):  # fmt: skip
    """Check backward (order 1) and the backward of a create_graph backward (order 2, 3, ...) of fn at inputs.

    Order 1 is `gradcheck(fn, *inputs)`; order k + 1 checks x -> J(x)^T u (u a fixed random cotangent)
    the same way, so second derivatives are checked too. full, directions, dense_up_to, eps, atol,
    rtol as in `gradcheck` (float64). Returns True or raises GradcheckError whose `.order` is the order that failed.
    """
    __tracebackhide__ = True
    if order < 1:
        raise ValueError(f"vjp_check: order must be >= 1, got {order}")
    xs = as_inputs(inputs)
    with no_grad():
        ys = flatten_outputs(fn(*xs))
    what = "backward" if _level == 1 else f"the derivative of order {_level} (backward of a create_graph backward)"
    who = f"vjp_check (order {_level}): {what}"
    note = _dropped_note(fn) if _level > 1 else None
    if full or dense(xs, dense_up_to):
        failure = _dense(fn, xs, ys, eps, atol, rtol, np.float64, seed)
        if failure is not None:
            raise _dense_error(fn, xs, ys, failure, who, None, _level == 1, None, _dropped_note(fn), _level)
    else:
        found = check(fn, xs, ys, eps=eps, atol=atol, rtol=rtol, seed=seed, dtype=np.float64, directions=directions,
                      strict=_level == 1)  # fmt: skip
        if found is not None:
            raise report(fn, xs, ys, found, who, _level == 1, None, _dropped_note(fn) or note, _level)
    if order > 1:
        rng = np.random.default_rng(seed + 1)
        us = [rng.standard_normal(y.shape) for y in ys]
        diff_idx = [i for i, x in enumerate(xs) if x.requires_grad]
        vjp_check(_GradOf(fn, us, diff_idx), *xs, order=order - 1, eps=eps, atol=atol, rtol=rtol, seed=seed + 1,
                  full=full, directions=directions, dense_up_to=dense_up_to, _level=_level + 1)  # fmt: skip
    return True


def _dropped_note(fn):
    dropped = getattr(fn, "dropped", False)
    if not dropped:
        return None
    who = dropped if isinstance(dropped, str) else "some backward"
    return (
        f"the gradient from create_graph has no graph (requires_grad=False): {who};"
        " a backward computed from plain arrays (.data, np.*) loses its own derivative"
    )


class _GradOf:
    """x -> dL/dx with L = <u, fn(x)>, built with create_graph so it can be differentiated."""

    def __init__(self, fn, us, diff_idx):
        self.fn, self.us, self.diff_idx = fn, us, diff_idx
        self.dropped = False  # set when a gradient came back without a graph

    def __call__(self, *args):
        __tracebackhide__ = True
        with enable_grad():
            total = project(self.fn, args, self.us)
            if not total.requires_grad:
                return tuple(Tensor(np.zeros(args[i].shape)) for i in self.diff_idx)
            leaves = [a for a in args if a.requires_grad]
            _zero(leaves)
            total.backward(create_graph=True)
            grads = []
            for i in self.diff_idx:
                g = args[i].grad
                if g is not None and not isinstance(g, Tensor):
                    raise GradcheckError(
                        f"vjp_check: under create_graph the gradient of input {i} is a {type(g).__name__}, not a"
                        " Tensor: some op's backward returned arrays (the graph was dropped)",
                        argument=i,
                        order=2,
                    )
                grads.append(g if g is not None else Tensor(np.zeros(args[i].shape)))
            lost = any(args[i].grad is not None and not args[i].grad.requires_grad for i in self.diff_idx)
            _zero(leaves)
            if lost and any(a.requires_grad for a in args) and not self.dropped:
                self.dropped = _array_backward(total) or True
                _zero(leaves)
            return tuple(grads)


def _array_backward(root):
    """'Op's backward returned ndarray for input k' for the first node (in the engine's order) that does so."""
    with record_backward() as rec:
        root.backward(create_graph=True)
    for step in rec.steps:
        fn, t = step.fn, step.tensor
        g = Tensor(np.ones(t.shape), requires_grad=True)
        try:
            with enable_grad():
                gs = fn.backward(g, fn.inputs, t)
        except Exception:  # a rule that needs its saved values freed: not the one we are after
            continue
        for k, r in enumerate(gs if isinstance(gs, tuple) else (gs,)):
            if r is not None and not isinstance(r, Tensor):
                return f"{fn.name}'s backward returned {type(r).__name__} for input {k}"
    return None


def _zero(ts):
    for t in ts:
        t.grad = None
