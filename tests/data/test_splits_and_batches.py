"""The validation split and the batches: stratified, reproducible from the seed, every row once per epoch."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.data import BatchLoader, load_data, split_indices

from .helpers import data_cfg


def test_the_validation_split_is_stratified_by_class():
    y = np.repeat([0, 1, 2], [500, 300, 200])
    train, val = split_indices(y, 0.1, "classification", np.random.default_rng(0))
    assert list(np.bincount(y[val])) == [50, 30, 20] and len(train) == 900
    assert not set(train) & set(val)


def test_a_rare_class_keeps_a_training_row():
    y = np.array([0] * 20 + [1])
    train, val = split_indices(y, 0.5, "classification", np.random.default_rng(0))
    assert 20 in train and len(val) == 10


def test_a_regression_split_takes_the_requested_fraction():
    train, val = split_indices(np.zeros((50, 1)), 0.2, "regression", np.random.default_rng(0))
    assert len(val) == 10 and len(train) == 40


def test_the_same_seed_gives_the_same_split_and_another_seed_another():
    cfg = data_cfg(dataset="iris", validation_split=0.2)
    a, b, c = load_data(cfg, 5), load_data(cfg, 5), load_data(cfg, 6)
    assert np.array_equal(a.x_val, b.x_val) and np.array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.x_val, c.x_val)


def test_no_validation_split_means_no_validation_arrays():
    ds = load_data(data_cfg(dataset="iris", validation_split=0.0), 0)
    assert ds.x_val is None and ds.y_val is None and len(ds.x_train) == 150


@pytest.fixture
def loader():
    x = np.arange(10 * 3, dtype=np.float32).reshape(10, 3)
    return BatchLoader(x, np.arange(10), batch_size=4)


def test_an_epoch_covers_every_row_once_with_a_shorter_last_batch(loader):
    order = loader.permutation(np.random.default_rng(0))
    seen, sizes = [], []
    for xb, yb in loader.batches(order):
        assert xb.flags.c_contiguous and np.array_equal(xb[:, 0] / 3, yb)
        seen += list(yb)
        sizes.append(len(yb))
    assert len(loader) == 3 and sizes == [4, 4, 2] and sorted(seen) == list(range(10))
    assert seen == list(order)


def test_batches_are_views_of_two_reused_buffers(loader):
    order = loader.permutation(np.random.default_rng(0))
    buffers = {
        (xb.__array_interface__["data"][0], yb.__array_interface__["data"][0]) for xb, yb in loader.batches(order)
    }
    assert len(buffers) == 1


def test_starting_at_batch_k_gives_the_remaining_batches_of_the_same_epoch(loader):
    order = loader.permutation(np.random.default_rng(1))
    full = [yb.copy() for _, yb in loader.batches(order)]
    rest = [yb.copy() for _, yb in loader.batches(order, start=1)]
    assert len(rest) == 2 and all(np.array_equal(a, b) for a, b in zip(full[1:], rest))


def test_the_same_shuffle_seed_gives_the_same_batches(loader):
    def epoch(seed):
        return [yb.copy() for _, yb in loader.batches(loader.permutation(np.random.default_rng(seed)))]

    assert all(np.array_equal(a, b) for a, b in zip(epoch(3), epoch(3)))
    assert not all(np.array_equal(a, b) for a, b in zip(epoch(3), epoch(4)))


def test_a_batch_size_above_the_row_count_is_full_batch(loader):
    big = BatchLoader(loader.x, loader.y, batch_size=1000)
    assert len(big) == 1 and [len(yb) for _, yb in big.batches(np.arange(10))] == [10]
