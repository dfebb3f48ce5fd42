"""PyTorch, imported only when it is needed, and its tensors as numpy arrays.

Nothing in tinygrad_attn imports torch at import time: `is_torch_tensor` tells a PyTorch tensor by
its type's module, and `require_torch()` imports it with an error that says how to install it.
"""

from __future__ import annotations

import numpy as np

INSTALL = "pip install 'tinygrad_attn[torch]'"


def is_torch_tensor(x) -> bool:
    """True for a PyTorch tensor (or a subclass), told without importing torch."""
    for cls in type(x).__mro__:
        if cls.__name__ == "Tensor" and cls.__module__ == "torch":
            return True
    return False


def require_torch():
    """The torch module, or an ImportError that says how to get it."""
    try:
        import torch
    except ImportError as e:
        raise ImportError(f"tinygrad_attn.from_torch needs PyTorch, which is not installed: {INSTALL}") from e
    return torch


def to_numpy(t) -> np.ndarray:
    """A copy of a PyTorch tensor's values as an ndarray (bfloat16 as float32, sparse as dense)."""
    torch = require_torch()
    t = t.detach()
    if t.layout != torch.strided:
        t = t.to_dense()
    if t.dtype == torch.bfloat16:
        t = t.float()
    return t.cpu().numpy().copy()
