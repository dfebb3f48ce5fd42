"""ta.save / ta.load: round trips, atomic writes, and hostile or broken files that must not load."""

import os
import pickle

import numpy as np
import pytest

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
