"""Save and load state dicts without pickle: a loaded file can never run code.

`.npz` is a zip of `.npy` arrays, written and read here entry by entry (zipfile and the `.npy`
header format), never through `np.load`: every header is parsed and checked, and its size
compared with the limits, before any data is read. Keys are percent-encoded into entry names,
so any string round-trips (`allow_pickle` and `file` included). A checkpoint may also carry a
JSON document (`metadata`), stored as a uint8 array under an entry name no key can produce.
`.safetensors` is used when the path ends so and the `safetensors` package is installed.
Writes go to a temporary file in the same directory, then `os.replace`, so a crash never
leaves a half-written checkpoint under the real name.
"""

from __future__ import annotations

import ast
import json
import math
import os
import struct
import tempfile
import zipfile
import zlib
from urllib.parse import quote, unquote

import numpy as np

from .tensor import Tensor

__all__ = ["CheckpointError", "save", "load", "read_checkpoint", "MAX_BYTES", "MAX_TOTAL_BYTES"]

MAX_BYTES = 4 << 30  # default limit on one entry's data (4 GiB)
MAX_TOTAL_BYTES = 16 << 30  # default limit on the sum over all entries
_META_ENTRY = "!metadata.npy"  # `quote(safe="")` never emits "!", so no key maps to this name
_MAX_HEADER = 10_000  # numpy's own default limit on a .npy header
_CHUNK = 1 << 20  # read data in 1 MiB slices: no second full-size buffer
_MAGIC = b"\x93NUMPY"


class CheckpointError(ValueError):
    """A checkpoint file is unreadable, corrupt, too large, or holds something other than plain arrays."""


def _arrays(state_dict) -> dict[str, np.ndarray]:
    if not isinstance(state_dict, dict):
        raise TypeError(f"save: expects a dict of name -> array, got {type(state_dict).__name__}")
    out = {}
    for k, v in state_dict.items():
        if not isinstance(k, str):
            raise TypeError(f"save: keys must be strings, got {k!r}")
        try:
            k.encode("utf-8")
        except UnicodeEncodeError:
            raise TypeError(f"save: key {k!r} is not valid text (lone surrogate)") from None
        arr = np.asarray(v.data if isinstance(v, Tensor) else v)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"save: {k!r} has dtype {arr.dtype}; only numeric arrays are saved")
        out[k] = arr
    return out


def _metadata_array(metadata) -> np.ndarray:
    try:
        text = json.dumps(metadata, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise TypeError(f"save: metadata must be plain JSON (dicts, lists, str, numbers): {e}") from None
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def _is_safetensors(path) -> bool:
    return os.fspath(path).endswith(".safetensors")


def _write_npz(f, entries: dict[str, np.ndarray]):
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, arr in entries.items():
            with zf.open(name, "w", force_zip64=True) as out:
                np.lib.format.write_array(out, arr, allow_pickle=False)


def save(state_dict: dict, path, metadata=None) -> None:
    """Write {name: array or Tensor} (and an optional JSON-able `metadata`) to `path`, atomically."""
    arrays = _arrays(state_dict)
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    meta = None if metadata is None else _metadata_array(metadata)
    if _is_safetensors(path):
        try:
            from safetensors.numpy import save as st_save
        except ImportError:
            raise ImportError("save: .safetensors needs the 'safetensors' package; use a .npz path") from None
        extra = None if meta is None else {"metadata": bytes(meta).decode("utf-8")}
        payload = st_save({k: np.ascontiguousarray(a) for k, a in arrays.items()}, metadata=extra)
    else:
        entries = {quote(k, safe="") + ".npy": a for k, a in arrays.items()}
        if meta is not None:
            entries[_META_ENTRY] = meta
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".ckpt")
    try:
        with os.fdopen(fd, "wb") as f:
            if _is_safetensors(path):
                f.write(payload)
            else:
                _write_npz(f, entries)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load(path, max_bytes: int = MAX_BYTES, max_total_bytes: int = MAX_TOTAL_BYTES) -> dict[str, np.ndarray]:
    """Read a state dict written by `save`: {name: ndarray}. Anything unsafe or broken raises CheckpointError."""
    return read_checkpoint(path, max_bytes, max_total_bytes)[0]


def read_checkpoint(path, max_bytes: int = MAX_BYTES, max_total_bytes: int = MAX_TOTAL_BYTES):
    """Read `path` -> ({name: ndarray}, metadata or None); the limits bound each entry and the total in bytes."""
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
        with zipfile.ZipFile(path) as zf:
            return _read_entries(path, zf, max_bytes, max_total_bytes)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, zlib.error, NotImplementedError) as e:
        raise CheckpointError(f"load: {path} is truncated or corrupt: {e}") from None


def _read_entries(path, zf, max_bytes, max_total_bytes):
    out, metadata, total = {}, None, 0
    infos = zf.infolist()
    names = [i.filename for i in infos]
    if len(set(names)) != len(names):
        raise CheckpointError(f"load: {path} has duplicate entries; refusing an ambiguous checkpoint")
    for info in infos:
        name = info.filename
        if not name.endswith(".npy"):
            raise CheckpointError(f"load: {path}: entry {name!r} is not an .npy array")
        if info.flag_bits & 0x1:
            raise CheckpointError(f"load: {path}: entry {name!r} is encrypted")
        where = f"load: {path}: entry {name!r}"
        try:
            arr, total = _read_entry(zf, info, where, max_bytes, max_total_bytes, total)
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error, NotImplementedError) as e:
            raise CheckpointError(f"{where} is truncated or corrupt: {e}") from None
        if name == _META_ENTRY:
            metadata = _parse_metadata(arr, where)
            continue
        try:
            out[unquote(name[:-4], errors="strict")] = arr
        except UnicodeDecodeError:
            raise CheckpointError(f"{where}: the entry name does not decode to a key") from None
    return out, metadata


def _read_entry(zf, info, where, max_bytes, max_total_bytes, total):
    """One entry: header checked against the limits, then its data -> (array, new running total)."""
    with zf.open(info) as f:
        dtype, shape, fortran, header_len = _read_header(f, where)
        nbytes = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
        if nbytes > max_bytes:
            raise CheckpointError(f"{where} declares {shape} {dtype} = {nbytes} bytes, over max_bytes={max_bytes}")
        total += nbytes
        if total > max_total_bytes:
            raise CheckpointError(
                f"{where}: the entries so far need {total} bytes, over max_total_bytes={max_total_bytes}"
            )
        if header_len + nbytes != info.file_size:
            raise CheckpointError(
                f"{where} declares {shape} {dtype} ({nbytes} bytes) but the zip entry holds "
                f"{info.file_size - header_len} bytes of data (truncated or corrupt)"
            )
        return _read_data(f, dtype, shape, fortran, nbytes, where), total


def _read_header(f, where):
    """Parse one .npy header -> (dtype, shape, fortran_order, bytes consumed); nothing is evaluated."""
    magic = f.read(8)
    if len(magic) < 8 or magic[:6] != _MAGIC:
        raise CheckpointError(f"{where} is not a .npy array (bad magic)")
    major = magic[6]
    if major not in (1, 2, 3):
        raise CheckpointError(f"{where}: unknown .npy format version {major}.{magic[7]}")
    size_fmt = "<H" if major == 1 else "<I"
    raw = f.read(struct.calcsize(size_fmt))
    if len(raw) < struct.calcsize(size_fmt):
        raise CheckpointError(f"{where}: truncated .npy header")
    (hlen,) = struct.unpack(size_fmt, raw)
    if hlen > _MAX_HEADER:
        raise CheckpointError(f"{where}: .npy header of {hlen} bytes is over the limit of {_MAX_HEADER}")
    text = f.read(hlen)
    if len(text) < hlen:
        raise CheckpointError(f"{where}: truncated .npy header")
    try:
        header = ast.literal_eval(text.decode("utf-8" if major == 3 else "latin1"))
    except Exception as e:  # SyntaxError, ValueError, MemoryError, RecursionError, ...: all mean "not a header"
        raise CheckpointError(f"{where}: malformed .npy header ({type(e).__name__})") from None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise CheckpointError(f"{where}: malformed .npy header {_short(header)}")
    descr, fortran, shape = header["descr"], header["fortran_order"], header["shape"]
    if not isinstance(shape, tuple) or not all(type(n) is int and n >= 0 for n in shape):
        raise CheckpointError(f"{where}: malformed shape {_short(shape)} in the .npy header")
    if not isinstance(fortran, bool):
        raise CheckpointError(f"{where}: malformed fortran_order {_short(fortran)} in the .npy header")
    if not isinstance(descr, str):  # a list descr is a structured dtype (may hold objects)
        raise CheckpointError(f"{where}: dtype {_short(descr)} is not a plain numeric dtype")
    try:
        dtype = np.dtype(descr)
    except Exception:
        raise CheckpointError(f"{where}: unknown dtype {_short(descr)} in the .npy header") from None
    if dtype.hasobject:
        raise CheckpointError(f"{where}: dtype {dtype} holds pickled objects; refusing to load them")
    if dtype.kind not in "biuf" or dtype.shape or dtype.names:
        raise CheckpointError(f"{where}: dtype {dtype} is not a plain numeric dtype")
    return dtype, shape, fortran, 8 + len(raw) + hlen


def _read_data(f, dtype, shape, fortran, nbytes, where):
    """Read exactly `nbytes` into one fresh buffer and view it as the array (no second copy)."""
    try:
        buf = np.empty(nbytes, dtype=np.uint8)
    except MemoryError:
        raise CheckpointError(f"{where}: cannot allocate {nbytes} bytes for {shape} {dtype}") from None
    view, done = memoryview(buf), 0
    while done < nbytes:
        n = f.readinto(view[done : done + _CHUNK])
        if not n:
            raise CheckpointError(f"{where}: truncated, {done} of {nbytes} bytes of data")
        done += n
    return buf.view(dtype).reshape(shape, order="F" if fortran else "C")


def _parse_metadata(arr, where):
    if arr.dtype != np.uint8 or arr.ndim != 1:
        raise CheckpointError(f"{where}: metadata must be a uint8 vector, got {arr.shape} {arr.dtype}")
    try:
        return json.loads(arr.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise CheckpointError(f"{where}: metadata is not a JSON document ({e})") from None


def _short(v, n=60) -> str:
    r = repr(v)
    return r if len(r) <= n else r[: n - 3] + "..."


def _load_safetensors(path):
    try:
        from safetensors import safe_open
        from safetensors.numpy import load_file
    except ImportError:
        raise ImportError("load: .safetensors needs the 'safetensors' package") from None
    try:
        arrays = load_file(path)
        with safe_open(path, framework="numpy") as f:
            extra = (f.metadata() or {}).get("metadata")
    except Exception as e:  # safetensors raises its own error types
        raise CheckpointError(f"load: {path} is not a valid safetensors file: {e}") from None
    if extra is None:
        return arrays, None
    try:
        return arrays, json.loads(extra)
    except ValueError as e:
        raise CheckpointError(f"load: {path}: metadata is not a JSON document ({e})") from None
