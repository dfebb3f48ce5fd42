"""Keep freed memory for the next step: glibc's malloc thresholds, raised once at import.

A training step allocates and frees many arrays of 0.1-40 MB (activations, gradients, the
buffers a backward pass sums into). With glibc's default thresholds that memory is unmapped or
trimmed back to the kernel when freed, and the next step page-faults fresh zeroed pages in
again: 37,461 minor page faults and about a third of the CPU time of a step of the bench's LSTM
attention seq2seq went to the kernel. With the mmap threshold at 64 MB and the trim threshold
at 512 MB the memory stays in the heap and is reused: no faults, and the same numbers, since
only where arrays live changes. Arrays above 64 MB are still mapped on their own and returned
when freed; at most 512 MB of free heap is kept.

This changes the whole process's malloc, so it is opt-out: set TINYGRAD_ATTN_MALLOC=default
before importing to leave malloc as it is. Elsewhere than glibc (macOS, musl) nothing happens.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 64 << 20
TRIM_THRESHOLD = 512 << 20


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds (see the module docstring); True when done."""
    if os.environ.get("TINYGRAD_ATTN_MALLOC", "").lower() == "default" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return False
    if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallopt"):
        return False  # not glibc: its mallopt (if any) means something else
    return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


TUNED = keep_freed_memory()  # once, when the package is imported
