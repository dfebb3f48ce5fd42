"""Save and load state dicts without pickle: a loaded file can never run code.

`.npz` is a zip of stored (uncompressed) `.npy` arrays, written and read here entry by entry
(zipfile and the `.npy` header format), never through `np.load`. Before zipfile parses the
directory, the zip's end record is checked against `max_entries`; every entry must be stored
under the name `save` would give its key, and every header is parsed and checked, its size
compared with the limits and with the bytes the file holds, before any data is read. Keys are
percent-encoded into entry names, so any string round-trips (`allow_pickle` and `file`
included). A checkpoint may also carry a JSON document (`metadata`), stored as a uint8 array
under an entry name no key can produce. `.safetensors` is used when the path ends so and the
`safetensors` package is installed. Only regular files are read (a FIFO would block).
Writes go to a temporary file in the same directory as the real file (a symlink is followed to
its target), created with mode 0666 minus the umask (or the mode of the file it replaces), then
`os.replace`, so a crash never leaves a half-written checkpoint under the real name.
See docs/checkpoints.md.
"""

from __future__ import annotations

import ast
import json
import math
import os
import secrets
import stat
import struct
import zipfile
import zlib
from urllib.parse import quote, unquote

import numpy as np

from .tensor import Tensor

__all__ = ["CheckpointError", "save", "load", "read_checkpoint", "MAX_BYTES", "MAX_TOTAL_BYTES", "MAX_ENTRIES"]

MAX_BYTES = 4 << 30  # default limit on one entry's data (4 GiB)
MAX_TOTAL_BYTES = 16 << 30  # default limit on the sum over all entries
MAX_ENTRIES = 10_000  # default limit on the number of entries (a 200-layer Transformer has 8,400 weights)
_DIRECTORY_BYTES_PER_ENTRY = 512  # the zip directory may hold this much per allowed entry (names up to ~460 bytes)
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
    """Write {name: array or Tensor} (and an optional JSON-able `metadata`) to `path`, atomically.

    A symlink at `path` is followed: its target is replaced, the link stays. The file gets the
    mode an ordinary `open(path, "w")` would give it (the old file's, or 0666 minus the umask).
    """
    arrays = _arrays(state_dict)
    path = os.path.realpath(os.fspath(path))  # write the target of a symlink, not over the link
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
    fd, tmp = _create_beside(path)
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


def _create_beside(path):
    """A new temporary file next to `path` -> (fd, name): mode 0666 minus the umask, or the mode of `path`."""
    directory = os.path.dirname(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(directory, f".tmp-{secrets.token_hex(6)}.ckpt")
        try:
            fd = os.open(tmp, flags, 0o666)  # the kernel applies the umask, as for any new file
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(f"save: no free temporary name next to {path}")
    try:
        old = os.stat(path)
    except OSError:
        return fd, tmp
    if stat.S_ISREG(old.st_mode):
        try:
            os.chmod(tmp, stat.S_IMODE(old.st_mode))  # overwriting keeps the file's mode, as open(path, "w") does
        except BaseException:
            os.close(fd)
            os.remove(tmp)
            raise
    return fd, tmp


def load(
    path, max_bytes: int = MAX_BYTES, max_total_bytes: int = MAX_TOTAL_BYTES, max_entries: int = MAX_ENTRIES
) -> dict[str, np.ndarray]:
    """Read a state dict written by `save`: {name: ndarray}. Anything unsafe or broken raises CheckpointError."""
    return read_checkpoint(path, max_bytes, max_total_bytes, max_entries)[0]


def read_checkpoint(
    path, max_bytes: int = MAX_BYTES, max_total_bytes: int = MAX_TOTAL_BYTES, max_entries: int = MAX_ENTRIES
):
    """Read `path` -> ({name: ndarray}, metadata or None).

    The limits bound each entry's data and the total in bytes, and the number of entries.
    """
    path = os.fspath(path)
    with _open_regular_file(path) as f:
        head = f.read(8)
        if _is_safetensors(path):
            return _load_safetensors(path)
        if head[:1] == b"\x80":  # every pickle since protocol 2 starts with the PROTO opcode
            raise CheckpointError(
                f"load: {path} looks like a Python pickle; refusing to load it (pickles can run code)"
            )
        if head[:4] != b"PK\x03\x04":
            raise CheckpointError(f"load: {path} is not an .npz checkpoint (no zip header)")
        size = os.fstat(f.fileno()).st_size
        try:
            _check_directory(f, size, path, max_entries)
            f.seek(0)
            with zipfile.ZipFile(f) as zf:
                return _read_entries(path, zf, size, max_bytes, max_total_bytes, max_entries)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, zlib.error, NotImplementedError) as e:
            raise CheckpointError(f"load: {path} is truncated or corrupt: {e}") from None


_KINDS = [
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
]


def _open_regular_file(path):
    """Open `path` for reading, refusing at once anything but a regular file (a FIFO would block forever)."""
    try:  # O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting for one
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as e:
        raise CheckpointError(f"load: cannot read {path}: {e.strerror or e}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((what for test, what in _KINDS if test(mode)), "not a file")
            raise CheckpointError(f"load: {path} is {kind}, not a regular file")
        if hasattr(os, "O_NONBLOCK"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


_END = struct.Struct("<4s4H2LH")  # end of central directory record
_END64_LOCATOR = struct.Struct("<4sLQL")
_END64 = struct.Struct("<4sQ2H2L4Q")


def _check_directory(f, size, path, max_entries):
    """Refuse too many entries from the zip's end record, before zipfile reads the whole directory.

    The record is found as zipfile finds it; the directory's size in bytes is bounded too, so an
    end record that understates the count cannot make zipfile parse a million entries.
    """
    f.seek(max(0, size - _END.size - 0xFFFF))
    tail = f.read()
    at = len(tail) - _END.size
    if not (at >= 0 and tail[at : at + 4] == b"PK\x05\x06" and tail[-2:] == b"\0\0"):
        at = tail.rfind(b"PK\x05\x06")  # a zip comment follows the record
    if at < 0 or at + _END.size > len(tail):
        raise CheckpointError(f"load: {path} is truncated or corrupt: no zip end record")
    _, _, _, _, count, dir_size, _, _ = _END.unpack_from(tail, at)
    at += size - len(tail)  # offset in the file
    if at >= _END64_LOCATOR.size:  # zip64: the real numbers are in a record the locator points to
        f.seek(at - _END64_LOCATOR.size)
        sig, _, rec_at, _ = _END64_LOCATOR.unpack(f.read(_END64_LOCATOR.size))
        if sig == b"PK\x06\x07":
            f.seek(rec_at)
            rec = f.read(_END64.size)
            if len(rec) < _END64.size or rec[:4] != b"PK\x06\x06":
                raise CheckpointError(f"load: {path} is truncated or corrupt: bad zip64 end record")
            count, dir_size = _END64.unpack(rec)[7:9]
    if count > max_entries:
        raise CheckpointError(f"load: {path} has {count} entries, over max_entries={max_entries}")
    budget = max_entries * _DIRECTORY_BYTES_PER_ENTRY
    if dir_size > budget:
        raise CheckpointError(
            f"load: {path}: the zip directory is {dir_size} bytes, over the {budget} bytes allowed "
            f"for max_entries={max_entries}"
        )


def _read_entries(path, zf, size, max_bytes, max_total_bytes, max_entries):
    out, metadata, total = {}, None, 0
    infos = zf.infolist()
    if len(infos) > max_entries:
        raise CheckpointError(f"load: {path} has {len(infos)} entries, over max_entries={max_entries}")
    names = [i.filename for i in infos]
    if len(set(names)) != len(names):
        raise CheckpointError(f"load: {path} has duplicate entries; refusing an ambiguous checkpoint")
    for info in infos:
        name = info.filename
        where = f"load: {path}: entry {name!r}"
        key = _key_of(name, where)
        _check_stored(info, size, where)
        try:
            arr, total = _read_entry(zf, info, where, max_bytes, max_total_bytes, total)
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error, NotImplementedError) as e:
            raise CheckpointError(f"{where} is truncated or corrupt: {e}") from None
        if key is None:
            metadata = _parse_metadata(arr, where)
        else:
            out[key] = arr
    return out, metadata


def _key_of(name, where):
    """The key `save` wrote as entry `name` (None for the metadata); a name `save` would not write is refused.

    Only the canonical spelling is accepted: `a.npy` and `%61.npy` both decode to "a", and letting
    both in would make one array silently replace the other.
    """
    if name == _META_ENTRY:
        return None
    if not name.endswith(".npy"):
        raise CheckpointError(f"{where} is not an .npy array")
    try:
        key = unquote(name[:-4], errors="strict")
    except UnicodeDecodeError:
        raise CheckpointError(f"{where}: the entry name does not decode to a key") from None
    canonical = quote(key, safe="") + ".npy"
    if canonical != name:
        raise CheckpointError(
            f"{where} is not a name ta.save writes (key {key!r} is written as {canonical!r}); "
            f"refusing a name that could stand for another entry's key"
        )
    return key


_METHODS = {zipfile.ZIP_DEFLATED: "deflate", zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma"}


def _check_stored(info, size, where):
    """An entry must be stored (not compressed, not encrypted) and its bytes must lie inside the file."""
    if info.flag_bits & 0x1:
        raise CheckpointError(f"{where} is encrypted")
    if info.compress_type != zipfile.ZIP_STORED:
        method = _METHODS.get(info.compress_type, f"method {info.compress_type}")
        raise CheckpointError(
            f"{where} is compressed ({method}); ta.save writes stored entries only, and a compressed entry can "
            f"declare far more data than the file holds. Re-save it with ta.save or np.savez (not savez_compressed)"
        )
    if info.compress_size != info.file_size:
        raise CheckpointError(
            f"{where} is stored but its sizes differ ({info.compress_size} bytes in the file, "
            f"{info.file_size} declared): corrupt"
        )
    room = size - info.header_offset
    if info.file_size > room:
        raise CheckpointError(
            f"{where} declares {info.file_size} bytes but the file holds only {max(room, 0)} bytes from its start "
            f"(truncated or corrupt)"
        )


def _read_entry(zf, info, where, max_bytes, max_total_bytes, total):
    """One entry: header checked against the limits, then its data -> (array, new running total)."""
    with zf.open(info) as f:
        dtype, shape, fortran, header_len = _read_header(f, where)
        _check_shape(shape, dtype, where)
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


_MAX_DIMS = 64 if np.lib.NumpyVersion(np.__version__) >= "2.0.0" else 32
_MAX_INDEX = int(np.iinfo(np.intp).max)


def _check_shape(shape, dtype, where):
    """A shape numpy can make: at most 64 (numpy 1: 32) axes, every length and the byte count within intp.

    Numpy refuses `(0, 10**30)` although it holds no element; refused here with the entry's name.
    """
    if len(shape) > _MAX_DIMS:
        raise CheckpointError(f"{where}: shape {_short(shape)} has {len(shape)} axes; numpy allows {_MAX_DIMS}")
    nonzero = math.prod(n for n in shape if n) * dtype.itemsize
    if max(shape, default=0) > _MAX_INDEX or nonzero > _MAX_INDEX:
        raise CheckpointError(f"{where}: shape {_short(shape)} {dtype} is beyond what numpy can index")


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
    try:
        return buf.view(dtype).reshape(shape, order="F" if fortran else "C")
    except (ValueError, OverflowError) as e:  # _check_shape should have caught it: still name the entry
        raise CheckpointError(f"{where}: shape {_short(shape)} {dtype} is not one numpy can make ({e})") from None


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
