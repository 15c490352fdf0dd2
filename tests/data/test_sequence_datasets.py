"""The synthetic sequence tasks `adding` and `frequencies`: shapes (N, C, L), targets, the seed, data.length."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.data import load_data
from backprop_cli.data.synthetic import adding, frequencies
from backprop_cli.errors import DataError
from backprop_cli.nn.registry import reads_sequences

from .helpers import data_cfg


def test_adding_marks_one_value_in_each_half_and_its_target_is_their_sum(rng):
    x, y = adding(500, 0.0, 2, rng, 20)
    values, markers = x[:, 0], x[:, 1]
    assert x.shape == (500, 2, 20) and y.shape == (500, 1)
    assert np.all(markers[:, :10].sum(axis=1) == 1) and np.all(markers[:, 10:].sum(axis=1) == 1)
    np.testing.assert_allclose(y[:, 0], (values * markers).sum(axis=1))
    assert values.min() >= 0.0 and values.max() < 1.0


def test_predicting_the_mean_on_adding_scores_an_mse_of_one_sixth():
    ds = load_data(data_cfg(dataset="adding", scale="none", scale_target=False), seed=0)
    assert ds.input_shape == (2, 50) and ds.task == "regression"
    assert np.mean((ds.y_train - 1.0) ** 2) == pytest.approx(1 / 6, abs=0.01)


def test_a_length_of_one_marks_the_one_step_and_its_target_is_that_value(rng):
    x, y = adding(10, 0.0, 2, rng, 1)
    np.testing.assert_array_equal(x[:, 1, 0], 1.0)
    np.testing.assert_allclose(y[:, 0], x[:, 0, 0])


def test_frequencies_gives_each_class_its_own_frequency_the_spectrum_shows(rng):
    x, y = frequencies(400, 0.1, 4, rng, 64)
    assert x.shape == (400, 1, 64) and np.bincount(y).tolist() == [100] * 4
    peak = np.abs(np.fft.rfft(x[:, 0], axis=1)).argmax(axis=1)  # bin j = j / 64 cycles per step
    np.testing.assert_array_equal(peak, (y + 1) * 64 // 16)  # f_k = (k + 1) / 16 for K = 4


def test_data_length_and_classes_shape_the_sequence_tasks():
    ds = load_data(data_cfg(dataset="frequencies", length=33, classes=3, n_samples=60), seed=1)
    assert ds.input_shape == (1, 33) and ds.n_classes == 3
    assert load_data(data_cfg(dataset="adding", length=7, n_samples=40), seed=1).input_shape == (2, 7)


def test_the_same_seed_gives_the_same_sequences_and_another_seed_others():
    a, b, c = (load_data(data_cfg(dataset="adding", n_samples=50, length=9), seed=s) for s in (3, 3, 4))
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.x_train, c.x_train)


def test_length_on_a_dataset_without_steps_is_an_error_naming_the_key():
    with pytest.raises(DataError) as info:
        load_data(data_cfg(dataset="xor", length=5), seed=0)
    assert info.value.where == "data.length" and "adding" in info.value.fix


def test_an_npz_of_n_c_l_keeps_its_shape_when_the_model_reads_sequences(tmp_path, rng):
    x = rng.standard_normal((30, 3, 11)).astype(np.float32)
    np.savez(tmp_path / "seq.npz", x=x, y=np.arange(30) % 2)
    cfg = data_cfg(path=str(tmp_path / "seq.npz"))
    ds = load_data(cfg, seed=0, sequences=True)
    assert ds.input_shape == (3, 11) and ds.scaler.offset.shape == (3, 1)  # standardized per channel
    assert load_data(cfg, seed=0).input_shape == (1, 3, 11)  # without a sequence model: a 3x11 image


def test_a_model_reads_sequences_when_its_first_layer_does():
    assert reads_sequences([{"type": "lstm", "units": 2}, {"type": "dense", "units": 2}])
    assert not reads_sequences([{"type": "dense", "units": 2}, {"type": "lstm", "units": 2}])


def test_an_absurd_number_of_steps_is_refused_before_anything_is_generated():
    with pytest.raises(DataError) as info:
        load_data(data_cfg(dataset="adding", length=100_000, n_samples=10_000_000), seed=0)
    assert info.value.where == "data.n_samples" and "data.length" in info.value.fix
