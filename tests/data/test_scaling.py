"""Scaler: fitted on the training split only, exact JSON round trip, arithmetic in the target dtype."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backprop_cli.data import load_data
from backprop_cli.data.scaling import Scaler
from backprop_cli.errors import CheckpointError

from .helpers import data_cfg, write_csv


def test_standard_scaling_gives_zero_mean_unit_std_and_leaves_a_constant_feature_alone(rng):
    x = np.column_stack([rng.normal(5.0, 3.0, 1000), np.full(1000, 7.0)])
    s = Scaler.fit("standard", x)
    z = s.transform(x, np.float64)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=0), [1.0, 0.0], atol=1e-12)
    assert s.scale[1] == 1.0


def test_minmax_scaling_maps_the_training_range_to_0_1(rng):
    x = rng.uniform(-3, 9, size=(200, 4))
    z = Scaler.fit("minmax", x).transform(x, np.float64)
    np.testing.assert_allclose(z.min(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(z.max(axis=0), 1.0, atol=1e-12)


def test_images_are_scaled_per_channel(rng):
    x = rng.normal(size=(50, 3, 4, 4)) * np.array([1.0, 10.0, 100.0])[:, None, None]
    s = Scaler.fit("standard", x)
    assert s.offset.shape == (3, 1, 1)
    np.testing.assert_allclose(s.transform(x, np.float64).std(axis=(0, 2, 3)), 1.0, atol=1e-12)


def test_transform_is_out_of_place_contiguous_and_in_the_requested_dtype(rng):
    x = rng.normal(size=(20, 3))
    before = x.copy()
    z = Scaler.fit("standard", x).transform(x[::2], np.float32)
    assert z.dtype == np.float32 and z.flags.c_contiguous and np.array_equal(x, before)


def test_inverse_transform_returns_the_original_values(rng):
    x = rng.normal(3.0, 2.0, size=(30, 2))
    s = Scaler.fit("standard", x)
    np.testing.assert_allclose(s.inverse_transform(s.transform(x, np.float64)), x, rtol=1e-12)


@pytest.mark.parametrize("kind", ["standard", "minmax", "none"])
def test_a_scaler_survives_json_exactly(rng, kind):
    s = Scaler.fit(kind, rng.normal(size=(40, 5)), base_scale=2.0)
    back = Scaler.from_dict(json.loads(json.dumps(s.to_dict())))
    assert back.kind == kind and np.array_equal(back.offset, s.offset) and np.array_equal(back.scale, s.scale)


def test_a_damaged_saved_scaler_is_a_checkpoint_error():
    with pytest.raises(CheckpointError):
        Scaler.from_dict({"kind": "standard", "shape": [2], "offset": [0.0], "scale": [1.0, 1.0]})
    with pytest.raises(CheckpointError):
        Scaler.from_dict({"kind": "standard", "shape": [1], "offset": [0.0], "scale": [0.0]})


def test_the_scaler_is_fitted_on_the_training_split_only(tmp_path):
    # the last 10 rows are far away: if validation rows leaked into the fit, the mean would move
    rows = [f"{i % 10},{i % 2}\n" for i in range(90)] + [f"{1000 + i},{i % 2}\n" for i in range(10)]
    path = write_csv(tmp_path / "t.csv", "x,y\n" + "".join(rows))
    ds = load_data(data_cfg(path=path, validation_split=0.3), seed=0, dtype=np.float64)
    train_raw = ds.scaler.inverse_transform(ds.x_train)
    assert ds.scaler.offset[0] == pytest.approx(train_raw.mean())
    assert ds.x_train.mean() == pytest.approx(0.0, abs=1e-12)
