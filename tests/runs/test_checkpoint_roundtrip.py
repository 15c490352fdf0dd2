"""Saving and loading a checkpoint: bit-exact tensors, metadata as JSON, resolving a run directory."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from backprop_cli.errors import CheckpointError, RunError
from backprop_cli.runs.checkpoint import (
    FORMAT_VERSION,
    check_tensors_match,
    load_checkpoint,
    resolve_checkpoint,
    save_checkpoint,
)
from backprop_cli.runs.rundir import RunFiles


def _tensors(rng):
    return {
        "model.0.W": rng.standard_normal((5, 3)).astype(np.float32),
        "model.0.b": np.array([0.0, -0.0, 1e-45], dtype=np.float32),  # -0.0 and a subnormal survive
        "model.2.running_var": rng.random(7),  # float64
        "optimizer.t": np.array(17, dtype=np.int64),  # a 0-d array stays 0-d
        "optimizer.perm": rng.permutation(10).astype(np.int64),
        "optimizer.half": np.array([1.5, -2.0], dtype=np.float16),
        "optimizer.mask": np.array([True, False]),
        "optimizer.bytes": np.arange(5, dtype=np.uint8),
        "optimizer.empty": np.zeros((0, 4), dtype=np.float32),
    }


def test_a_checkpoint_round_trip_is_bit_exact_for_every_dtype_and_shape(tmp_path, rng):
    tensors = _tensors(rng)
    save_checkpoint(tmp_path / "c.safetensors", tensors, {"epoch": 3})
    loaded = load_checkpoint(tmp_path / "c.safetensors").tensors
    assert set(loaded) == set(tensors)
    for name, x in tensors.items():
        assert (loaded[name].dtype, loaded[name].shape) == (x.dtype, x.shape), name
        assert loaded[name].tobytes() == x.tobytes(), name
        assert loaded[name].flags.writeable


def test_non_contiguous_and_big_endian_arrays_are_saved_by_value(tmp_path):
    W = np.arange(12, dtype=np.float64).reshape(3, 4)
    save_checkpoint(tmp_path / "c.safetensors", {"W": W.T, "b": np.arange(3, dtype=">i4")}, {})
    loaded = load_checkpoint(tmp_path / "c.safetensors").tensors
    np.testing.assert_array_equal(loaded["W"], W.T)
    assert loaded["b"].dtype == np.dtype("int32") and loaded["b"].tolist() == [0, 1, 2]


def test_metadata_comes_back_as_json_with_format_version_and_checksum(tmp_path):
    meta = {"epoch": np.int64(4), "lr": np.float32(0.5), "best": float("inf"), "shape": (2, 3), "rng": {"s": [1]}}
    save_checkpoint(tmp_path / "c.safetensors", {"w": np.zeros(2)}, meta)
    loaded = load_checkpoint(tmp_path / "c.safetensors")
    assert loaded.meta["epoch"] == 4 and loaded.meta["lr"] == 0.5
    assert loaded.meta["best"] is None  # never NaN/Infinity in the metadata JSON
    assert loaded.meta["shape"] == [2, 3] and loaded.meta["rng"] == {"s": [1]}
    assert loaded.meta["format_version"] == FORMAT_VERSION and len(loaded.meta["sha256"]) == 64
    assert loaded.path == tmp_path / "c.safetensors"


def test_section_strips_the_prefix_of_model_or_optimizer_tensors(tmp_path, rng):
    save_checkpoint(tmp_path / "c.safetensors", _tensors(rng), {})
    model = load_checkpoint(tmp_path / "c.safetensors").section("model")
    assert sorted(model) == ["0.W", "0.b", "2.running_var"]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_saving_non_finite_weights_is_refused_and_the_old_checkpoint_is_kept(tmp_path, bad):
    path = tmp_path / "last.safetensors"
    save_checkpoint(path, {"model.0.W": np.ones(3)}, {"epoch": 2})
    before = path.read_bytes()
    with pytest.raises(RunError, match=r"refusing to save non-finite weights: tensor model.0.W") as info:
        save_checkpoint(path, {"model.0.W": np.array([1.0, bad, 2.0])}, {"epoch": 3})
    assert info.value.exit_code == 1
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["last.safetensors"]


def test_a_checkpoint_is_a_plain_safetensors_file_with_json_metadata(tmp_path):
    from safetensors import safe_open

    save_checkpoint(tmp_path / "c.safetensors", {"w": np.zeros(2)}, {"epoch": 1})
    with safe_open(tmp_path / "c.safetensors", framework="numpy") as f:
        assert json.loads(f.metadata()["backprop"])["epoch"] == 1


def test_check_tensors_match_accepts_the_same_names_shapes_and_dtypes():
    found = {"model.0.W": np.zeros((4, 3), np.float32)}
    check_tensors_match(found, {"model.0.W": ((4, 3), np.float32)}, "c.safetensors")


def test_check_tensors_match_names_the_missing_and_the_unexpected_tensor():
    found = {"model.0.W": np.zeros((4, 3), np.float32), "model.9.W": np.zeros(2, np.float32)}
    expected = {"model.0.W": ((4, 3), "float32"), "model.0.b": ((3,), "float32")}
    with pytest.raises(CheckpointError) as info:
        check_tensors_match(found, expected, "run/c.safetensors")
    message = str(info.value)
    assert message.startswith("run/c.safetensors: ")
    assert "missing tensor model.0.b (expected (3,) float32)" in message
    assert "unexpected tensor model.9.W (2,) float32" in message


def test_check_tensors_match_gives_both_shapes_and_dtypes_of_a_mismatched_tensor():
    found = {"model.0.W": np.zeros((5, 3), np.float64)}
    with pytest.raises(CheckpointError, match=r"model.0.W is \(5, 3\) float64 in the checkpoint, "
                                              r"the model expects \(4, 3\) float32"):  # fmt: skip
        check_tensors_match(found, {"model.0.W": ((4, 3), np.float32)}, "c.safetensors")


def _run_dir(tmp_path, *checkpoints):
    files = RunFiles(tmp_path / "run")
    files.checkpoints.mkdir(parents=True)
    files.config.write_text("seed: 0\n")
    for name in checkpoints:
        save_checkpoint(files.checkpoints / name, {"w": np.zeros(1)}, {})
    return files


def test_a_run_directory_resolves_to_its_best_checkpoint_else_its_last(tmp_path):
    files = _run_dir(tmp_path, "last.safetensors", "best.safetensors")
    assert resolve_checkpoint(files.root) == files.best
    files.best.unlink()
    assert resolve_checkpoint(files.root) == files.last


def test_a_run_without_a_checkpoint_yet_is_refused_with_a_fix(tmp_path):
    files = _run_dir(tmp_path)
    with pytest.raises(CheckpointError, match=r"run .*run has no checkpoint yet; wait"):
        resolve_checkpoint(files.root)


def test_a_checkpoint_file_resolves_to_itself(tmp_path):
    files = _run_dir(tmp_path, "last.safetensors")
    assert resolve_checkpoint(str(files.last)) == files.last


def test_a_missing_path_or_a_plain_directory_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint or run directory; pass a .safetensors"):
        resolve_checkpoint(tmp_path / "nope")
    with pytest.raises(CheckpointError, match="is a directory, not a run directory or a checkpoint"):
        resolve_checkpoint(tmp_path)
