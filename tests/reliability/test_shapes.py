"""Shapes and emptiness: a 0-d `y` in an .npz, a 0-d array given to predict, rows of zero
features, and a checkpoint naming fewer classes than its model has outputs (the table of hostile
checkpoints in test_hostile_files.py holds it for eval; predict here). Then a property: any array shape
given as training data or to predict ends in a result or a DataError, never another exception.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_cli.config.schema import DataConfig
from backprop_cli.data import load_data, prepare_features
from backprop_cli.errors import DataError
from backprop_cli.inference import load_trained
from backprop_cli.runs.checkpoint import load_checkpoint, save_checkpoint

from .helpers import assert_user_error, backprop, in_process

TRAIN = "model: {layers: [{type: dense, units: 2}]}\ntraining: {epochs: 1}\n"


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"x": np.ones((5, 2)), "y": np.array(1)}, "y is a single value (a 0-d array), not one target per row"),
        ({"x": np.ones((5, 0)), "y": np.arange(5) % 2}, "rows have zero features (shape (5, 0))"),
        ({"x": np.ones((5, 3, 0)), "y": np.arange(5) % 2}, "rows have zero features"),
        ({"x": np.array(2.0), "y": np.arange(5) % 2}, "features must have shape (N, F)"),
    ],
)
def test_degenerate_arrays_are_refused_before_training(tmp_path, arrays, message):
    np.savez(tmp_path / "d.npz", **arrays)
    (tmp_path / "c.yaml").write_text(f"data: {{path: d.npz}}\n{TRAIN}")
    result = in_process("train", tmp_path / "c.yaml", "--runs-dir", tmp_path / "runs", "--quiet")
    assert_user_error(result, 2, "d.npz: " + message)
    assert not (tmp_path / "runs").exists() or not any(
        (tmp_path / "runs").iterdir()
    )  # no checkpoint eval calls damaged


def test_a_0d_array_given_to_predict_is_refused(reference, tmp_path):
    np.save(tmp_path / "one.npy", np.array(3.0))
    result = in_process("predict", reference("fast"), tmp_path / "one.npy")
    assert_user_error(result, 2, "one.npy: holds a single value (a 0-d array), not rows of features")


def test_predict_with_a_checkpoint_naming_fewer_classes_than_outputs_is_refused(reference, tmp_path):
    checkpoint = load_checkpoint(reference("fast") / "checkpoints" / "last.safetensors")
    meta = dict(checkpoint.meta)
    meta["data"] = {**meta["data"], "class_names": ["0", "1"]}  # 3 outputs
    save_checkpoint(tmp_path / "few.safetensors", checkpoint.tensors, meta)
    result = backprop("predict", tmp_path / "few.safetensors", "-", input="0.1,0.2\n0.3,-0.4\n")  # a real process
    assert_user_error(result, 2, "few.safetensors: checkpoint metadata is damaged", "it names 2 classes")


# ---- property: any shape ends in data or a DataError ------------------------------------------------
SHAPE = st.lists(st.integers(0, 3), min_size=0, max_size=4).map(tuple)


@settings(max_examples=120, deadline=None)
@given(x_shape=SHAPE, y_shape=SHAPE)
def test_any_array_shapes_as_training_data_load_or_raise_a_data_error(x_shape, y_shape):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.npz"
        y = (np.arange(int(np.prod(y_shape))) % 2).reshape(y_shape)  # two classes when there are 2+ labels
        np.savez(path, x=np.ones(x_shape), y=y)
        try:
            data = load_data(DataConfig(path=str(path), validation_split=0.0), seed=0)
        except DataError:
            return
    assert data.x_train.size > 0 and np.prod(data.input_shape) > 0


@settings(max_examples=120, deadline=None)
@given(shape=SHAPE)
def test_any_array_shape_given_to_predict_is_prepared_or_a_data_error(reference, shape):
    trained = _trained(reference)
    try:
        x = prepare_features(np.ones(shape), trained.data_meta, trained.dtype, source="x.npy")
    except DataError:
        return
    assert x.shape[1:] == tuple(trained.data_meta["input_shape"]) and len(x) > 0


_CACHE: dict = {}


def _trained(reference):
    if "fast" not in _CACHE:
        _CACHE["fast"] = load_trained(reference("fast"))
    return _CACHE["fast"]
