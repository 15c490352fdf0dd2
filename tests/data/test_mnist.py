"""MNIST from the real IDX files (the slice shipped with the tests; the full set where present), and every
way an IDX file can be damaged."""

from __future__ import annotations

import gzip
import shutil
import time

import numpy as np
import pytest

from backprop_cli.data import load_data
from backprop_cli.data.idx import read_idx
from backprop_cli.data.mnist import MNIST_FILES, load_mnist
from backprop_cli.data.remote import verify
from backprop_cli.errors import DataError
from tests.datafiles import SLICE_COUNTS, SLICE_FILES, require_full_mnist

from .helpers import SLICE_MNIST, data_cfg, write_idx

CANONICAL_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
CANONICAL_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
SLICE_TRAIN_COUNTS = [50, 66, 52, 50, 52, 39, 45, 52, 39, 55]  # the first 500 training labels
SLICE_TEST_COUNTS = [17, 28, 16, 16, 28, 20, 20, 24, 10, 21]  # the first 200 test labels


def test_the_slice_holds_the_first_images_of_each_split_as_1x28x28_uint8(slice_raw):
    assert slice_raw.x_train.shape == (SLICE_COUNTS["train"], 1, 28, 28) and slice_raw.x_train.dtype == np.uint8
    assert slice_raw.x_test.shape == (SLICE_COUNTS["test"], 1, 28, 28)
    assert list(np.bincount(slice_raw.y_train)) == SLICE_TRAIN_COUNTS
    assert list(np.bincount(slice_raw.y_test)) == SLICE_TEST_COUNTS
    assert slice_raw.x_train.min() == 0 and slice_raw.x_train.max() == 255
    assert slice_raw.class_names == [str(d) for d in range(10)]


def test_the_slice_files_pass_the_checksums_documented_for_them():
    for remote in SLICE_FILES:
        assert verify(SLICE_MNIST / remote.name, remote) is None


def test_the_slice_is_the_start_of_the_full_set_where_both_are_here(mnist_raw, slice_raw):
    n, m = SLICE_COUNTS["train"], SLICE_COUNTS["test"]
    assert np.array_equal(slice_raw.x_train, mnist_raw.x_train[:n]) and np.array_equal(
        slice_raw.y_test, mnist_raw.y_test[:m]
    )


def test_mnist_has_60000_training_and_10000_test_images_of_1x28x28(mnist_raw):
    assert mnist_raw.x_train.shape == (60000, 1, 28, 28) and mnist_raw.x_train.dtype == np.uint8
    assert mnist_raw.x_test.shape == (10000, 1, 28, 28)
    assert mnist_raw.y_train.dtype == np.int64 and mnist_raw.class_names == [str(d) for d in range(10)]


def test_mnist_labels_have_the_canonical_counts_per_digit(mnist_raw):
    assert list(np.bincount(mnist_raw.y_train)) == CANONICAL_TRAIN_COUNTS
    assert list(np.bincount(mnist_raw.y_test)) == CANONICAL_TEST_COUNTS


def test_mnist_pixels_span_0_to_255_and_arrive_in_0_1_without_scaling(mnist_raw):
    from backprop_cli.data.scaling import Scaler

    assert mnist_raw.x_train.min() == 0 and mnist_raw.x_train.max() == 255
    x = Scaler.fit("none", mnist_raw.x_train[:100], mnist_raw.base_scale).transform(mnist_raw.x_train[:100])
    assert x.dtype == np.float32 and x.min() == 0.0 and x.max() == 1.0


def test_mnist_standardized_per_channel_has_the_well_known_mean_and_std(mnist_raw):
    from backprop_cli.data.scaling import Scaler

    s = Scaler.fit("standard", mnist_raw.x_train, mnist_raw.base_scale)
    assert s.offset.shape == (1, 1, 1)
    assert abs(s.offset.item() / 255 - 0.1307) < 1e-4 and abs(s.scale.item() / 255 - 0.3081) < 1e-4


def test_the_full_mnist_files_pass_the_canonical_checksums_in_the_table():
    full = require_full_mnist() / "mnist"
    for remote in MNIST_FILES:
        assert verify(full / remote.name, remote) is None


def test_missing_mnist_files_are_named_with_where_to_put_them_and_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("BACKPROP_DATA_DIR", str(tmp_path))
    (tmp_path / "mnist").mkdir()
    shutil.copy(SLICE_MNIST / "t10k-labels-idx1-ubyte.gz", tmp_path / "mnist")
    with pytest.raises(DataError) as err:
        load_data(data_cfg(dataset="mnist"), seed=0)
    text = str(err.value)
    assert "train-images-idx3-ubyte.gz" in text and "t10k-labels" not in text.split(";")[0]
    assert str(tmp_path / "mnist") in text and "backprop data download mnist" in text


def test_gunzipped_idx_files_are_found_and_read_as_well(tmp_path):
    with gzip.open(SLICE_MNIST / "t10k-labels-idx1-ubyte.gz") as f:
        (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(f.read())
    labels = read_idx(tmp_path / "t10k-labels-idx1-ubyte", ndim=1)
    assert list(np.bincount(labels)) == SLICE_TEST_COUNTS


def test_a_truncated_gzip_file_is_a_data_error_saying_truncated(tmp_path):
    data = (SLICE_MNIST / "t10k-labels-idx1-ubyte.gz").read_bytes()
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="truncated gzip") as err:
        read_idx(path, ndim=1)
    assert str(path) in str(err.value)


def test_a_wrong_magic_number_is_a_data_error_saying_not_an_idx_file(tmp_path):
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(b"PK\x03\x04" + bytes(100)))
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(path, ndim=1)


def test_an_images_file_given_as_labels_is_named_for_what_it_holds(tmp_path):
    path = write_idx(tmp_path / "x.gz", np.zeros((2, 3, 3), np.uint8))
    with pytest.raises(DataError, match="3-dimensional data, expected 1"):
        read_idx(path, ndim=1)


@pytest.mark.parametrize("gz", [True, False])
def test_a_header_declaring_more_items_than_the_payload_holds_is_refused(tmp_path, gz):
    path = write_idx(tmp_path / "labels", np.arange(10, dtype=np.uint8), dims=(12,), gz=gz)
    with pytest.raises(DataError, match=r"header declares 12 items .* but the file holds 18"):
        read_idx(path, ndim=1)


def test_a_small_gzip_declaring_gigabytes_is_refused_at_once_without_allocating(tmp_path):
    path = write_idx(tmp_path / "images.gz", np.zeros((1, 28, 28), np.uint8), dims=(4_000_000, 28, 28))
    start = time.process_time()  # CPU seconds: a busy host stretches wall time only
    with pytest.raises(DataError, match="cannot hold that many"):
        read_idx(path, ndim=3)
    assert time.process_time() - start < 0.5


def test_images_and_labels_of_different_counts_are_a_data_error_naming_both_files(tmp_path, monkeypatch):
    directory = tmp_path / "mnist"
    directory.mkdir()
    for split in ("train", "t10k"):
        write_idx(directory / f"{split}-images-idx3-ubyte.gz", np.zeros((5, 28, 28), np.uint8))
        write_idx(directory / f"{split}-labels-idx1-ubyte.gz", np.arange(4, dtype=np.uint8))
    monkeypatch.setenv("BACKPROP_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz has 5 images but train-labels-idx1-ubyte.gz has 4"):
        load_mnist(data_cfg(dataset="mnist"), 0)


def test_a_label_outside_0_to_9_is_a_data_error(tmp_path, monkeypatch):
    directory = tmp_path / "mnist"
    directory.mkdir()
    for split in ("train", "t10k"):
        write_idx(directory / f"{split}-images-idx3-ubyte.gz", np.zeros((3, 28, 28), np.uint8))
        write_idx(directory / f"{split}-labels-idx1-ubyte.gz", np.array([1, 12, 3], np.uint8))
    monkeypatch.setenv("BACKPROP_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError, match="label 12 at index 1 is out of range 0..9"):
        load_mnist(data_cfg(dataset="mnist"), 0)
