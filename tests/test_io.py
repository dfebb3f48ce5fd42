"""ta.save / ta.load: round trips, atomic writes, and hostile or broken files that must not load."""

import os
import pickle
import struct
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_attn as ta
from tinygrad_attn import nn
from tinygrad_attn.io import CheckpointError


def _model():
    ta.seed(1)
    return nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Linear(4, 2))


def test_round_trip_through_npz(tmp_path):
    a = _model()
    path = tmp_path / "model.npz"
    ta.save(a.state_dict(), path)
    loaded = ta.load(path)
    assert list(loaded) == list(a.state_dict())
    b = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Linear(4, 2))
    b.load_state_dict(loaded)
    for k, v in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[k], v)
        assert loaded[k].dtype == v.dtype


def test_save_accepts_tensors_and_leaves_no_temporary_files(tmp_path):
    ta.save({"w": ta.ones(2, 2), "step": np.array(3)}, tmp_path / "c.npz")
    assert os.listdir(tmp_path) == ["c.npz"]
    assert ta.load(tmp_path / "c.npz")["step"] == 3


def test_overwrite_is_atomic_on_failure(tmp_path):
    path = tmp_path / "c.npz"
    ta.save({"w": np.ones(2)}, path)
    with pytest.raises(TypeError):
        ta.save({"w": np.array(["not", "numbers"])}, path)
    np.testing.assert_array_equal(ta.load(path)["w"], np.ones(2))
    with pytest.raises(TypeError):
        ta.save([1, 2], path)


class _Boom:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_a_pickle_file_is_refused_and_never_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.npz"
    path.write_bytes(pickle.dumps({"w": _Boom()}))
    with pytest.raises(CheckpointError, match="pickle"):
        ta.load(path)
    assert not (tmp_path / "PWNED").exists()


def test_an_npz_with_a_pickled_object_array_is_refused_and_never_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.npz"
    np.savez(path, w=np.array([_Boom()], dtype=object), ok=np.ones(2))
    with pytest.raises(CheckpointError, match="pickle"):
        ta.load(path)
    assert not (tmp_path / "PWNED").exists()


def test_truncated_and_garbage_files_give_a_clear_error(tmp_path):
    path = tmp_path / "c.npz"
    ta.save(_model().state_dict(), path)
    data = path.read_bytes()
    for cut in (10, len(data) // 2, len(data) - 5):
        path.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match="truncated or corrupt|not an .npz"):
            ta.load(path)
    path.write_bytes(b"hello world, not a checkpoint")
    with pytest.raises(CheckpointError, match="not an .npz"):
        ta.load(path)
    with pytest.raises(CheckpointError, match="cannot read"):
        ta.load(tmp_path / "missing.npz")


def test_safetensors_round_trip_or_clear_import_error(tmp_path):
    path = tmp_path / "m.safetensors"
    sd = _model().state_dict()
    try:
        import safetensors  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="safetensors"):
            ta.save(sd, path)
        return
    ta.save(sd, path)
    loaded = ta.load(path)
    assert sorted(loaded) == sorted(sd)
    for k, v in loaded.items():
        np.testing.assert_array_equal(v, sd[k])
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(CheckpointError, match="not a valid safetensors file"):
        ta.load(path)
    path.write_bytes(pickle.dumps({"w": _Boom()}))
    with pytest.raises(CheckpointError):
        ta.load(path)


# ---- any key, any numeric dtype ----------------------------------------------------------

_NUMPY_WORDS = st.sampled_from(["allow_pickle", "file", "fix_imports", "args", "kwds", "", "!metadata", "%41", "a/b"])
_DTYPES = st.sampled_from(["bool", "int8", "uint8", "int32", "int64", "uint64", "float16", "float32", "float64", ">f8"])


@settings(max_examples=25)
@given(
    keys=st.lists(st.one_of(_NUMPY_WORDS, st.text(max_size=12)), min_size=1, max_size=5, unique=True),
    dtype=_DTYPES,
    shape=st.lists(st.integers(0, 3), max_size=3).map(tuple),
    fortran=st.booleans(),
    data=st.data(),
)
def test_any_key_and_dtype_round_trips(tmp_path_factory, keys, dtype, shape, fortran, data):
    path = tmp_path_factory.mktemp("rt") / "c.npz"
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    arrays = {}
    for k in keys:
        a = (rng.standard_normal(shape) * 50).astype(dtype)
        arrays[k] = np.asfortranarray(a) if fortran else a
    meta = data.draw(st.none() | st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3))
    ta.save(arrays, path, metadata=meta)
    loaded, got_meta = ta.io.read_checkpoint(path)
    assert list(loaded) == keys and got_meta == meta
    for k, a in arrays.items():
        assert loaded[k].dtype == a.dtype and loaded[k].shape == a.shape
        np.testing.assert_array_equal(loaded[k], a)


def test_metadata_is_not_part_of_the_state_dict(tmp_path):
    ta.save({"w": np.ones(2)}, tmp_path / "c.npz", metadata={"vocab": "ab_ "})
    assert list(ta.load(tmp_path / "c.npz")) == ["w"]
    with pytest.raises(TypeError, match="metadata must be plain JSON"):
        ta.save({"w": np.ones(2)}, tmp_path / "c.npz", metadata={"f": object()})


def test_loading_makes_no_second_copy_of_the_data(tmp_path):
    """numpy reports its buffers to tracemalloc: reading 8 MB must not peak at twice that."""
    ta.save({"w": np.ones(1 << 20)}, tmp_path / "c.npz")
    tracemalloc.start()
    try:
        w = ta.load(tmp_path / "c.npz")["w"]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert w.nbytes == 8 << 20 and peak < 1.5 * w.nbytes, peak


# ---- hostile files, crafted byte by byte -------------------------------------------------


def _npy(header: str, data: bytes = b"", version: int = 1) -> bytes:
    """A .npy entry: magic, version, header length, header text, data."""
    text = header.encode("latin1") + b"\n"
    size = struct.pack("<H" if version == 1 else "<I", len(text))
    return b"\x93NUMPY" + bytes([version, 0]) + size + text + data


def _npz(path, entries: dict) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(path, "w") as zf:
            for name, payload in entries:
                zf.writestr(name, payload)


def _header(descr="'<f8'", shape="(3,)", fortran="False"):
    return f"{{'descr': {descr}, 'fortran_order': {fortran}, 'shape': {shape}, }}"


def _load_crafted(tmp_path, entries, **limits):
    path = tmp_path / "hostile.npz"
    _npz(path, entries)
    return ta.load(path, **limits)


def test_a_header_declaring_100_gb_is_refused_before_any_allocation(tmp_path):
    entry = _npy(_header(shape="(12500000000,)"), b"\0" * 64)
    with pytest.raises(CheckpointError, match=r"'big.npy' declares .*100000000000 bytes, over max_bytes"):
        _load_crafted(tmp_path, [("ok.npy", _npy(_header(), b"\0" * 24)), ("big.npy", entry)])
    # with the limit lifted, the declaration still has to match what the entry holds
    with pytest.raises(CheckpointError, match=r"'big.npy' declares .* but the zip entry holds 64 bytes"):
        _load_crafted(tmp_path, [("big.npy", entry)], max_bytes=10**12, max_total_bytes=10**12)


def test_the_total_of_all_entries_is_capped(tmp_path):
    a = _npy(_header(shape="(100,)"), b"\0" * 800)
    entries = [("a.npy", a), ("b.npy", a)]
    assert set(_load_crafted(tmp_path, entries, max_total_bytes=1600)) == {"a", "b"}
    with pytest.raises(CheckpointError, match=r"'b.npy'.* 1600 bytes, over max_total_bytes=1599"):
        _load_crafted(tmp_path, entries, max_total_bytes=1599)
    with pytest.raises(CheckpointError, match=r"'a.npy' declares .* over max_bytes=799"):
        _load_crafted(tmp_path, entries, max_bytes=799)


@pytest.mark.parametrize(
    "header,needle",
    [
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (3,}", "malformed .npy header"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), '''", "malformed .npy header"),  # TokenError
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), \"\"\"", "malformed .npy header"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'x': __import__('os')}", "malformed .npy header"),
        ("[1, 2, 3]", "malformed .npy header"),
        ("{'descr': '<f8', 'fortran_order': False}", "malformed .npy header"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'extra': 1}", "malformed .npy header"),
        (_header(shape="(-3,)"), "malformed shape"),
        (_header(shape="(3.0,)"), "malformed shape"),
        (_header(shape="3"), "malformed shape"),
        (_header(fortran="1"), "malformed fortran_order"),
        (_header(descr="'<q9'"), "unknown dtype"),
        (_header(descr="'|O'"), "pickled objects"),
        (_header(descr="[('a', '|O')]"), "not a plain numeric dtype"),
        (_header(descr="'|S3'"), "not a plain numeric dtype"),
        (_header(descr="'<c16'"), "not a plain numeric dtype"),
        (_header(descr="'(2,)<f8'"), "not a plain numeric dtype"),
        (_header(shape="(" + "9" * 5000 + ",)"), "malformed .npy header"),
        ("(" * 300 + ")" * 300, "malformed .npy header"),
    ],
)
def test_malformed_or_unsafe_headers_name_the_entry(tmp_path, header, needle):
    with pytest.raises(CheckpointError, match=rf"entry 'w.npy'.*{needle}"):
        _load_crafted(tmp_path, [("w.npy", _npy(header, b"\0" * 24))])


def test_numpy_itself_chokes_on_the_tokenizer_header(tmp_path):
    """The hostile header above is real: np.load raises a non-ValueError on it; ta.load does not."""
    path = tmp_path / "t.npz"
    _npz(path, [("w.npy", _npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), '''", b"\0" * 24))])
    with pytest.raises(Exception) as info, np.load(path) as z:
        z["w"]
    assert not isinstance(info.value, CheckpointError)
    with pytest.raises(CheckpointError, match="'w.npy'"):
        ta.load(path)


@pytest.mark.parametrize(
    "payload,needle",
    [
        (b"\x93NUMPY", "bad magic"),
        (b"GIF89a" + bytes(40), "bad magic"),
        (b"\x93NUMPY\x09\x00" + bytes(40), "unknown .npy format version 9"),
        (b"\x93NUMPY\x01\x00\x50", "truncated .npy header"),
        (b"\x93NUMPY\x01\x00\x50\x00{'descr'", "truncated .npy header"),
        (b"\x93NUMPY\x02\x00" + struct.pack("<I", 10**9) + b"{", "header of 1000000000 bytes is over the limit"),
        (_npy(_header(), b"\0" * 23), "zip entry holds 23 bytes"),
        (_npy(_header(), b"\0" * 25), "zip entry holds 25 bytes"),
    ],
)
def test_truncated_or_foreign_entries_name_the_entry(tmp_path, payload, needle):
    with pytest.raises(CheckpointError, match=rf"entry 'w.npy'.*{needle}"):
        _load_crafted(tmp_path, [("w.npy", payload)])


def test_damaged_data_fails_the_crc_check_and_names_the_entry(tmp_path):
    """Bytes changed inside an entry's data: an error, never an array with silently wrong values."""
    path = tmp_path / "c.npz"
    ta.save({"w": np.arange(1000.0)}, path)
    raw = bytearray(path.read_bytes())
    raw[5000:5008] = b"\xff" * 8  # inside the data of 'w.npy': the CRC check at its end fails
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="entry 'w.npy' is truncated or corrupt"):
        ta.load(path)


def test_entries_that_are_not_arrays_or_are_duplicated_are_refused(tmp_path):
    good = _npy(_header(), b"\0" * 24)
    with pytest.raises(CheckpointError, match=r"entry 'evil.pkl' is not an .npy array"):
        _load_crafted(tmp_path, [("w.npy", good), ("evil.pkl", pickle.dumps(_Boom()))])
    with pytest.raises(CheckpointError, match="duplicate entries"):
        _load_crafted(tmp_path, [("w.npy", good), ("w.npy", good)])
    with pytest.raises(CheckpointError, match="metadata is not a JSON document"):
        _load_crafted(tmp_path, [("w.npy", good), ("!metadata.npy", _npy(_header("'|u1'", "(2,)"), b"{["))])
    with pytest.raises(CheckpointError, match="metadata must be a uint8 vector"):
        _load_crafted(tmp_path, [("!metadata.npy", good)])
