"""Local derivatives d(out)/d(input_i) of the common ops, for the edge labels.

Computed from the data the graph still holds after backward (inputs and output), never from
`fn.saved`, which backward frees. Ops without an entry here get no edge label.
"""

from __future__ import annotations

import numpy as np


def _other(ins, i):
    return ins[1 - i]


# op name -> (input index, inputs, output) -> derivative (elementwise, or the other matrix factor)
_RULES = {
    "Add": lambda i, ins, out: np.ones(()),
    "Sub": lambda i, ins, out: np.asarray(1.0 if i == 0 else -1.0),
    "Mul": lambda i, ins, out: _other(ins, i),
    "Div": lambda i, ins, out: 1.0 / ins[1] if i == 0 else -out / ins[1],
    "Pow": lambda i, ins, out: ins[1] * ins[0] ** (ins[1] - 1) if i == 0 else out * np.log(np.abs(ins[0]) + 1e-300),
    "Neg": lambda i, ins, out: np.asarray(-1.0),
    "Exp": lambda i, ins, out: out,
    "Log": lambda i, ins, out: 1.0 / ins[0],
    "Sqrt": lambda i, ins, out: 0.5 / out,
    "Tanh": lambda i, ins, out: 1.0 - out * out,
    "Sigmoid": lambda i, ins, out: out * (1.0 - out),
    "Relu": lambda i, ins, out: (ins[0] > 0).astype(np.float64),
    "Abs": lambda i, ins, out: np.sign(ins[0]),
    "MatMul": lambda i, ins, out: _other(ins, i),
    "Sum": lambda i, ins, out: np.ones(()),
    "Mean": lambda i, ins, out: np.asarray(out.size / max(ins[0].size, 1)),
}

_FORMULA = {
    "Tanh": "1 - y^2",
    "Sigmoid": "y (1 - y)",
    "Exp": "y",
    "Log": "1 / x",
    "Sqrt": "1 / (2 y)",
    "Mul": "the other factor",
    "MatMul": "the other matrix (norm shown)",
    "Relu": "1 where x > 0",
}


def local_derivative(op_name, i, ins, out):
    """(value, text) of d out / d input i: value a float (one number) or a norm; None if unknown."""
    rule = _RULES.get(op_name)
    if rule is None:
        return None, None
    with np.errstate(all="ignore"):
        d = np.asarray(rule(i, [np.asarray(x, dtype=np.float64) for x in ins], np.asarray(out, dtype=np.float64)))
    if d.size == 1 and op_name != "MatMul":
        v = float(d.reshape(()))
        return v, f"×{v:.3g}"
    v = float(np.linalg.norm(d))  # Frobenius norm: how strongly this input is scaled overall
    return v, f"‖∂‖ {v:.3g}"


def formula(op_name):
    """The local derivative in words, for tooltips ('' when not listed)."""
    return _FORMULA.get(op_name, "")
