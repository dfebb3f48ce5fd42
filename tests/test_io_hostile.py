"""ta.load against hostile zips (compression bombs, a million entries, aliased names, absurd shapes, FIFOs);
ta.save against the file system (the umask, an existing file's mode, symlinks)."""

import os
import stat
import struct
import threading
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn.io import MAX_ENTRIES, CheckpointError


def _npy(header: str, data: bytes = b"") -> bytes:
    text = header.encode("latin1") + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + data


def _header(descr="'<f8'", shape="(3,)"):
    return f"{{'descr': {descr}, 'fortran_order': False, 'shape': {shape}, }}"


def _stored(path, entries):
    with zipfile.ZipFile(path, "w") as zf:
        for name, payload in entries:
            zf.writestr(name, payload)


# ---- compression ----------------------------------------------------------------------------


def test_a_deflated_entry_declaring_1_gib_is_refused_without_inflating_it(tmp_path):
    """1 MiB on disk, 1 GiB of zeros declared: refused from the zip directory, nothing is inflated."""
    path = tmp_path / "bomb.npz"
    nbytes = 1 << 30
    chunk = bytes(1 << 22)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("w.npy", "w", force_zip64=True) as out:
            out.write(_npy(_header(shape=f"({nbytes // 8},)")))
            for _ in range(nbytes // len(chunk)):
                out.write(chunk)
    assert path.stat().st_size < 8 << 20
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(CheckpointError, match=r"entry 'w.npy' is compressed \(deflate\).*np.savez"):
            ta.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - t0 < 2.0 and peak < 4 << 20, peak


def test_np_savez_compressed_files_are_refused_with_the_way_out(tmp_path):
    path = tmp_path / "c.npz"
    np.savez_compressed(path, w=np.ones(3))
    with pytest.raises(CheckpointError, match="compressed .*ta.save writes stored entries only"):
        ta.load(path)
    np.savez(path, w=np.ones(3))  # the uncompressed twin loads
    np.testing.assert_array_equal(ta.load(path)["w"], np.ones(3))


def test_a_stored_entry_declaring_more_data_than_the_file_holds_is_refused_before_reading(tmp_path):
    path = tmp_path / "c.npz"
    ta.save({"w": np.arange(4.0)}, path)
    raw = path.read_bytes()
    # the central directory's compressed and uncompressed sizes of 'w.npy' (offsets 20 and 24): claim 1 GiB
    cd = raw.rindex(b"PK\x01\x02")
    info = zipfile.ZipFile(path).getinfo("w.npy")
    patched = bytearray(raw)
    patched[cd + 20 : cd + 28] = struct.pack("<LL", 1 << 30, 1 << 30)
    path.write_bytes(bytes(patched))
    assert zipfile.ZipFile(path).getinfo("w.npy").file_size == 1 << 30 != info.file_size
    with pytest.raises(CheckpointError, match=r"entry 'w.npy' declares 1073741824 bytes .* holds only"):
        ta.load(path)
    # a stored entry whose two sizes disagree is corrupt
    patched[cd + 20 : cd + 28] = struct.pack("<LL", info.file_size - 8, info.file_size)
    path.write_bytes(bytes(patched))
    with pytest.raises(CheckpointError, match=r"entry 'w.npy' .*stored .* sizes differ"):
        ta.load(path)


# ---- entry count ----------------------------------------------------------------------------


def _many_empty_entries(path, n, claimed=None):
    """A real zip of `n` empty stored entries `0000000.npy`.. built with numpy (zipfile takes ~15 s for 10^6).

    `claimed` replaces the entry count in the end record (a lying count); zip64 records when n > 65535.
    """
    name_len = 11
    names = np.frombuffer("".join(f"{i:07d}.npy" for i in range(n)).encode(), np.uint8).reshape(n, name_len)
    local = np.zeros((n, 30 + name_len), np.uint8)
    local[:, :4] = np.frombuffer(b"PK\x03\x04", np.uint8)
    local[:, 4] = 20  # version needed
    local[:, 26] = name_len
    local[:, 30:] = names
    offsets = np.arange(n, dtype=np.uint32) * local.shape[1]
    central = np.zeros((n, 46 + name_len), np.uint8)
    central[:, :4] = np.frombuffer(b"PK\x01\x02", np.uint8)
    central[:, 4] = central[:, 6] = 20
    central[:, 28] = name_len
    central[:, 42:46] = offsets.view(np.uint8).reshape(n, 4)
    central[:, 46:] = names
    cd_offset, cd_size = local.size, central.size
    count = n if claimed is None else claimed
    with open(path, "wb") as f:
        f.write(local.tobytes())
        f.write(central.tobytes())
        if count > 0xFFFF:
            at = f.tell()
            f.write(struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, cd_size, cd_offset))
            f.write(struct.pack("<4sLQL", b"PK\x06\x07", 0, at, 1))
            f.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, cd_size, 0xFFFFFFFF, 0))
        else:
            f.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, cd_size, cd_offset, 0))


def test_the_many_entries_builder_writes_a_zip_that_zipfile_reads(tmp_path):
    _many_empty_entries(tmp_path / "m.npz", 70_000)
    with zipfile.ZipFile(tmp_path / "m.npz") as zf:
        infos = zf.infolist()
        assert len(infos) == 70_000 and infos[-1].filename == "0069999.npy" and zf.read(infos[5]) == b""


def test_a_million_empty_entries_are_refused_in_seconds(tmp_path):
    path = tmp_path / "many.npz"
    _many_empty_entries(path, 10**6)
    t0 = time.perf_counter()
    with pytest.raises(CheckpointError, match=rf"1000000 entries, over max_entries={MAX_ENTRIES}"):
        ta.load(path)
    assert time.perf_counter() - t0 < 2.0


def test_an_end_record_that_understates_the_count_is_caught_by_the_directory_size(tmp_path):
    path = tmp_path / "liar.npz"
    _many_empty_entries(path, 10**6, claimed=3)
    t0 = time.perf_counter()
    with pytest.raises(CheckpointError, match=r"zip directory is 57000000 bytes, over the \d+ bytes allowed"):
        ta.load(path)
    assert time.perf_counter() - t0 < 2.0


def test_the_entry_limit_is_a_parameter(tmp_path):
    path = tmp_path / "c.npz"
    ta.save({f"w{i}": np.ones(1) for i in range(5)}, path)
    assert len(ta.load(path, max_entries=5)) == 5
    with pytest.raises(CheckpointError, match="5 entries, over max_entries=4"):
        ta.load(path, max_entries=4)
    # a lying end record cannot get past the count of the directory zipfile actually parsed
    raw = bytearray(path.read_bytes())
    end = raw.rindex(b"PK\x05\x06")
    raw[end + 8 : end + 12] = struct.pack("<HH", 2, 2)
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="5 entries, over max_entries=4"):
        ta.load(path, max_entries=4)


# ---- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "names,alias",
    [
        (["a.npy", "%61.npy"], "%61.npy"),
        (["%61.npy"], "%61.npy"),
        (["a%2fb.npy"], "a%2fb.npy"),  # lower-case escape: ta.save writes %2F
        (["a/b.npy"], "a/b.npy"),  # ta.save escapes '/'
        (["%7E.npy"], "%7E.npy"),  # "~" is written as itself
    ],
)
def test_names_that_ta_save_would_not_write_are_refused(tmp_path, names, alias):
    """`a.npy` and `%61.npy` would both decode to key 'a': one would silently replace the other."""
    path = tmp_path / "alias.npz"
    _stored(path, [(n, _npy(_header(), bytes(24))) for n in names])
    with pytest.raises(CheckpointError, match=rf"entry '{alias}' is not a name ta.save writes"):
        ta.load(path)


def test_every_key_ta_save_writes_has_the_canonical_name(tmp_path):
    keys = ["a", "%61", "a/b", "!metadata", "é", "sp ace", "", "x.npy", "%", "~-_."]
    ta.save({k: np.ones(1) for k in keys}, tmp_path / "c.npz")
    assert list(ta.load(tmp_path / "c.npz")) == keys


# ---- shapes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape,data",
    [
        ((0, 10**30), b""),
        ((0, 2**62, 2**62), b""),
        ((0, 2**64), b""),
        ((1,) * 70, bytes(8)),  # one element, 70 axes
        ((0,) * 70, b""),
    ],
)
def test_shapes_numpy_cannot_make_are_refused_naming_the_entry(tmp_path, shape, data):
    """No data to allocate, yet numpy refuses the shape: a CheckpointError naming the entry, not a bare ValueError."""
    path = tmp_path / "s.npz"
    _stored(path, [("ok.npy", _npy(_header(), bytes(24))), ("odd.npy", _npy(_header(shape=repr(shape)), data))])
    with pytest.raises(CheckpointError, match=r"entry 'odd.npy'.*shape"):
        ta.load(path)


# ---- not a regular file ---------------------------------------------------------------------


def test_a_fifo_is_refused_at_once_not_waited_on(tmp_path):
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    result = {}

    def load():
        try:
            ta.load(fifo)
        except Exception as e:  # noqa: BLE001 - the test inspects it
            result["error"] = e

    t = threading.Thread(target=load, daemon=True)
    t.start()
    t.join(timeout=5.0)
    if t.is_alive():  # let the stuck open() return so the thread can end
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        t.join(timeout=5.0)
    assert isinstance(result.get("error"), CheckpointError), result
    assert "is a FIFO (named pipe), not a regular file" in str(result["error"])


@pytest.mark.parametrize("where", ["dir", "/dev/null"])
def test_a_directory_or_a_device_is_refused(tmp_path, where):
    target = tmp_path if where == "dir" else where
    with pytest.raises(CheckpointError, match="not a regular file"):
        ta.load(target)


# ---- save and the file system ---------------------------------------------------------------


@pytest.fixture
def umask():
    old = os.umask(0o022)
    yield lambda m: os.umask(m)
    os.umask(old)


def test_save_follows_the_umask_like_an_ordinary_write(tmp_path, umask):
    ta.save({"w": np.ones(2)}, tmp_path / "a.npz")
    (tmp_path / "plain.txt").write_text("x")
    assert stat.S_IMODE((tmp_path / "a.npz").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode) == 0o644
    umask(0o077)
    ta.save({"w": np.ones(2)}, tmp_path / "b.npz")
    assert stat.S_IMODE((tmp_path / "b.npz").stat().st_mode) == 0o600


def test_save_over_an_existing_file_keeps_its_mode(tmp_path, umask):
    path = tmp_path / "a.npz"
    ta.save({"w": np.ones(2)}, path)
    os.chmod(path, 0o640)
    ta.save({"w": np.zeros(2)}, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    np.testing.assert_array_equal(ta.load(path)["w"], np.zeros(2))


def test_save_through_a_symlink_writes_its_target_and_keeps_the_link(tmp_path):
    real_dir = tmp_path / "store"
    real_dir.mkdir()
    target = real_dir / "model.npz"
    ta.save({"w": np.ones(2)}, target)
    link = tmp_path / "latest.npz"
    link.symlink_to(target)
    ta.save({"w": np.full(2, 7.0)}, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    np.testing.assert_array_equal(ta.load(target)["w"], np.full(2, 7.0))
    assert sorted(os.listdir(real_dir)) == ["model.npz"] and sorted(os.listdir(tmp_path)) == ["latest.npz", "store"]
    dangling = tmp_path / "next.npz"
    dangling.symlink_to(real_dir / "new.npz")
    ta.save({"w": np.ones(1)}, dangling)
    assert dangling.is_symlink() and (real_dir / "new.npz").is_file()
