"""The PyTorch bridge: PyTorch's backward pass as our `Record`, for viz's pictures and the explorer.

    from tinygrad_attn import from_torch
    with from_torch.trace(model):                 # optional: values and module scopes
        loss = model(x).pow(2).mean()
    rec = from_torch.record(loss)                  # a Record, as ta.record_backward() gives
    viz.explore(rec)                               # or viz.explore(loss), viz.draw(loss)

PyTorch is optional (`pip install 'tinygrad_attn[torch]'`): it is imported when a function here
runs, never when tinygrad_attn is imported.
"""

from .adapters import TorchOp, TorchRecord, TorchTensor
from .backward import record
from .runtime import INSTALL, is_torch_tensor, require_torch
from .tracing import Tracer, trace

__all__ = ["record", "trace", "TorchRecord", "TorchTensor", "TorchOp", "Tracer", "is_torch_tensor", "require_torch"]
__all__ += ["INSTALL"]
