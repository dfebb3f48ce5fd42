"""What `viz.draw`, `viz.explore` and `viz.frames` accept, turned into what they read.

Our Tensor and a `ta.record_backward()` Record pass through as they are. A PyTorch tensor (a
scalar loss whose graph is alive) becomes the Record of its backward (`tinygrad_attn.from_torch`,
with names, values and scopes from `from_torch.trace` if the forward ran inside one). PyTorch is
imported only then: it is told by its type's module, never by importing it.
"""

from __future__ import annotations

from tinygrad_attn.from_torch.runtime import is_torch_tensor


def as_source(tensor_or_record, who: str):
    """`tensor_or_record` unchanged, or the backward Record of a PyTorch loss."""
    if is_torch_tensor(tensor_or_record):
        from tinygrad_attn import from_torch

        try:
            return from_torch.record(tensor_or_record)
        except (TypeError, ValueError) as e:
            raise type(e)(f"{who}: {e}") from e
    return tensor_or_record
