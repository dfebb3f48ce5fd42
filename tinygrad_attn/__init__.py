"""tinygrad_attn: a small reverse-mode autodiff engine on numpy, with RNN to Transformer models."""

from . import tensor_methods  # noqa: F401  (first: gives Tensor its operators and methods)

# isort: split
from . import allocator, data, functional, nn, optim  # noqa: F401  (allocator: see its docstring)
from .creation import arange, concat, ones, ones_like, randn, seed, stack, where, zeros, zeros_like
from .function import Function
from .io import CheckpointError, load, save
from .mode import detect_anomaly, enable_grad, is_grad_enabled, no_grad, record_sites, scope, set_grad_enabled
from .record import Record, record_backward
from .tensor import DEFAULT_DTYPE, Tensor

__all__ = [
    "Tensor",
    "Function",
    "record_backward",
    "Record",
    "DEFAULT_DTYPE",
    "no_grad",
    "set_grad_enabled",
    "record_sites",
    "enable_grad",
    "is_grad_enabled",
    "scope",
    "detect_anomaly",
    "zeros",
    "ones",
    "zeros_like",
    "ones_like",
    "randn",
    "arange",
    "seed",
    "concat",
    "stack",
    "where",
    "functional",
    "data",
    "nn",
    "optim",
    "save",
    "load",
    "CheckpointError",
]
__version__ = "0.1.0"
