"""Save and load state dicts without pickle: a loaded file can never run code.

`.npz` (numpy's zip of `.npy` arrays) is always available and is read with `allow_pickle=False`;
`.safetensors` is used when the path ends so and the `safetensors` package is installed.
Writes go to a temporary file in the same directory, then `os.replace`, so a crash never
leaves a half-written checkpoint under the real name.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
import zlib

import numpy as np

from .tensor import Tensor


class CheckpointError(ValueError):
    """A checkpoint file is unreadable, corrupt, or holds something other than plain arrays."""


def _arrays(state_dict) -> dict[str, np.ndarray]:
    if not isinstance(state_dict, dict):
        raise TypeError(f"save: expects a dict of name -> array, got {type(state_dict).__name__}")
    out = {}
    for k, v in state_dict.items():
        if not isinstance(k, str):
            raise TypeError(f"save: keys must be strings, got {k!r}")
        arr = np.asarray(v.data if isinstance(v, Tensor) else v)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"save: {k!r} has dtype {arr.dtype}; only numeric arrays are saved")
        out[k] = arr
    return out


def _is_safetensors(path) -> bool:
    return os.fspath(path).endswith(".safetensors")


def save(state_dict: dict, path) -> None:
    """Write {name: array or Tensor} to `path` (.npz, or .safetensors if installed), atomically."""
    arrays = _arrays(state_dict)
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if _is_safetensors(path):
        try:
            from safetensors.numpy import save as st_save
        except ImportError:
            raise ImportError("save: .safetensors needs the 'safetensors' package; use a .npz path") from None
        payload = st_save({k: np.ascontiguousarray(a) for k, a in arrays.items()})
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".ckpt")
    try:
        with os.fdopen(fd, "wb") as f:
            if _is_safetensors(path):
                f.write(payload)
            else:
                np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load(path) -> dict[str, np.ndarray]:
    """Read a state dict written by `save`: {name: ndarray}. Pickles and corrupt files raise CheckpointError."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as e:
        raise CheckpointError(f"load: cannot read {path}: {e.strerror or e}") from None
    if _is_safetensors(path):
        return _load_safetensors(path)
    if head[:1] == b"\x80":  # every pickle since protocol 2 starts with the PROTO opcode
        raise CheckpointError(f"load: {path} looks like a Python pickle; refusing to load it (pickles can run code)")
    if head[:4] != b"PK\x03\x04":
        raise CheckpointError(f"load: {path} is not an .npz checkpoint (no zip header)")
    try:
        with np.load(path, allow_pickle=False) as z:
            out = {k: np.array(z[k]) for k in z.files}
    except ValueError as e:
        if "allow_pickle" in str(e):  # an object array: reading it would unpickle
            raise CheckpointError(f"load: {path} holds pickled objects; refusing to load them") from None
        raise CheckpointError(f"load: {path} is truncated or corrupt: {e}") from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, zlib.error) as e:
        raise CheckpointError(f"load: {path} is truncated or corrupt: {e}") from None
    for k, a in out.items():
        if a.dtype.kind not in "biuf":
            raise CheckpointError(f"load: {path}: entry {k!r} is not a numeric array (dtype {a.dtype})")
    return out


def _load_safetensors(path):
    try:
        from safetensors.numpy import load_file
    except ImportError:
        raise ImportError("load: .safetensors needs the 'safetensors' package") from None
    try:
        return load_file(path)
    except Exception as e:  # safetensors raises its own error types
        raise CheckpointError(f"load: {path} is not a valid safetensors file: {e}") from None
