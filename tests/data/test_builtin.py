"""The built-in table, the synthetic generators and the bundled CSVs."""

from __future__ import annotations

import hashlib
from importlib import resources

import numpy as np
import pytest

from backprop_cli.config.schema import DATASET_NAMES
from backprop_cli.data import DATASETS, load_data
from backprop_cli.errors import DataError

from .helpers import data_cfg

TEXT = ("shakespeare", "additions")  # characters, (N, L) targets: tests/data/test_text.py
SYNTHETIC = [name for name, entry in DATASETS.items() if entry.kind == "synthetic" and name not in TEXT]
LOCAL = [name for name, entry in DATASETS.items() if entry.kind != "download" and name not in TEXT]


def test_the_table_lists_exactly_the_names_the_config_schema_allows():
    assert set(DATASETS) == set(DATASET_NAMES)
    assert all(name == entry.name for name, entry in DATASETS.items())


@pytest.mark.parametrize("name", LOCAL)
def test_each_local_dataset_loads_with_the_shape_and_classes_its_entry_announces(name):
    entry = DATASETS[name]
    ds = load_data(data_cfg(dataset=name, validation_split=0.0), seed=0, dtype=np.float32)
    assert ds.input_shape == entry.input_shape and ds.task == entry.task
    assert ds.x_train.dtype == np.float32 and ds.x_train.flags.c_contiguous
    assert ds.x_train.shape[1:] == entry.input_shape
    assert np.all(np.isfinite(ds.x_train))
    if entry.task == "classification":
        assert ds.n_classes == entry.n_classes == len(ds.class_names)
        assert ds.y_train.dtype == np.int64 and ds.y_train.shape == (len(ds.x_train),)
        assert set(np.unique(ds.y_train)) == set(range(entry.n_classes))
    else:
        assert ds.n_classes is None and ds.y_train.dtype == np.float32 and ds.y_train.shape == (len(ds.x_train), 1)


@pytest.mark.parametrize("name", [n for n in SYNTHETIC if DATASETS[n].task == "classification"])
def test_synthetic_classes_differ_in_size_by_at_most_one(name):
    ds = load_data(data_cfg(dataset=name, validation_split=0.0, n_samples=301), seed=3)
    counts = np.bincount(ds.y_train)
    assert counts.sum() == 301 and counts.max() - counts.min() <= 1


@pytest.mark.parametrize("name", SYNTHETIC)
def test_the_same_seed_generates_the_same_data_and_another_seed_other_data(name):
    cfg = data_cfg(dataset=name, scale="none")
    a, b, c = load_data(cfg, 7), load_data(cfg, 7), load_data(cfg, 8)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.x_train, c.x_train)


def test_spirals_and_blobs_take_the_number_of_classes():
    for name in ("spirals", "blobs"):
        ds = load_data(data_cfg(dataset=name, classes=5, n_samples=100), seed=0)
        assert ds.n_classes == 5 and ds.class_names == ["0", "1", "2", "3", "4"]


def test_synthetic_noise_zero_puts_moons_exactly_on_their_half_circles():
    ds = load_data(data_cfg(dataset="moons", noise=0.0, scale="none", validation_split=0.0), seed=0)
    upper = ds.x_train[ds.y_train == 0].astype(np.float64)
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, atol=1e-6)


def test_sine_is_a_regression_whose_metrics_can_return_to_original_units():
    ds = load_data(data_cfg(dataset="sine", noise=0.0, validation_split=0.0), seed=0, dtype=np.float64)
    assert ds.target_scaler is not None and abs(ds.y_train.mean()) < 1e-9
    x = ds.scaler.inverse_transform(ds.x_train)
    np.testing.assert_allclose(ds.target_scaler.inverse_transform(ds.y_train), np.sin(x), atol=1e-12)


def test_iris_has_150_flowers_three_named_species_of_50_and_its_four_measurements():
    ds = load_data(data_cfg(dataset="iris", validation_split=0.0, scale="none"), seed=0, dtype=np.float64)
    assert ds.x_train.shape == (150, 4) and list(np.bincount(ds.y_train)) == [50, 50, 50]
    assert ds.class_names == ["setosa", "versicolor", "virginica"]
    assert ds.feature_names == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    assert 0.1 <= ds.x_train.min() and ds.x_train.max() <= 7.9


def test_digits_are_1797_images_of_8x8_in_0_1_without_scaling_with_the_uci_class_counts():
    ds = load_data(data_cfg(dataset="digits", validation_split=0.0, scale="none"), seed=0)
    assert ds.x_train.shape == (1797, 1, 8, 8) and ds.input_shape == (1, 8, 8)
    assert ds.x_train.min() == 0.0 and ds.x_train.max() == 1.0
    assert list(np.bincount(ds.y_train)) == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


@pytest.mark.parametrize("name", ["iris", "digits"])
def test_the_bundled_csv_files_match_the_checksums_in_the_table(name):
    for filename, sha256 in DATASETS[name].bundled:
        data = (resources.files("backprop_cli") / "datasets" / filename).read_bytes()
        assert hashlib.sha256(data).hexdigest() == sha256


@pytest.mark.parametrize(
    "fields, key",
    [
        ({"dataset": "iris", "n_samples": 100}, "data.n_samples"),
        ({"dataset": "moons", "classes": 3}, "data.classes"),
        ({"dataset": "mnist", "noise": 0.1}, "data.noise"),
        ({"dataset": "iris", "target": "species"}, "data.target"),
        ({"dataset": "iris", "task": "regression"}, "data.task"),
        ({"dataset": "spirals", "classes": 10, "n_samples": 12}, "data.n_samples"),
    ],
)
def test_an_option_that_does_not_apply_to_a_builtin_dataset_is_an_error_naming_the_key(fields, key):
    with pytest.raises(DataError) as err:
        load_data(data_cfg(**fields), seed=0)
    assert err.value.where == key
