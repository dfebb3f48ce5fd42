"""One Function class per op, grouped by kind."""

from .elementwise import (  # noqa: F401
    Abs,
    Add,
    Clip,
    Div,
    Exp,
    Log,
    Maximum,
    Mul,
    Neg,
    Pow,
    Relu,
    Sigmoid,
    Sqrt,
    Sub,
    Tanh,
    Where,
)
from .linalg import MatMul  # noqa: F401
from .movement import BroadcastTo, Concat, GetItem, IndexAdd, Reshape, Stack, Transpose  # noqa: F401
from .reduce import LogSumExp, Max, Mean, Sum  # noqa: F401
from .softmax import LogSoftmax, Softmax  # noqa: F401
