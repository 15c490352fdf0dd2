"""MaxPool2D and AvgPool2D: values by definition, shapes, exact float64 gradients, ties, float32, config errors."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.errors import ConfigError
from backprop_cli.nn.pooling.pool2d import AvgPool2D, MaxPool2D
from backprop_cli.nn.registry import build_layers

WINDOWS = [(2, None), (2, 1), (3, 2), (3, None)]  # (pool_size, stride): tiling, and overlapping windows


def _built(layer, input_shape, rng, dtype=np.float64):
    layer.build(input_shape, rng, dtype)
    return layer


def pool_by_loops(x, k, s, reduce):
    oh, ow = (x.shape[2] - k) // s + 1, (x.shape[3] - k) // s + 1
    y = np.zeros((*x.shape[:2], oh, ow))
    for i in range(oh):
        for j in range(ow):
            y[:, :, i, j] = reduce(x[:, :, i * s : i * s + k, j * s : j * s + k], axis=(2, 3))
    return y


@pytest.mark.parametrize("cls, reduce", [(MaxPool2D, np.max), (AvgPool2D, np.mean)], ids=["max", "avg"])
@pytest.mark.parametrize("pool_size, stride", WINDOWS)
def test_pooling_computes_the_max_or_mean_of_each_window(cls, reduce, pool_size, stride, rng):
    layer = _built(cls(pool_size, stride), (2, 7, 6), rng)
    x = rng.standard_normal((3, 2, 7, 6))
    expected = pool_by_loops(x, pool_size, stride or pool_size, reduce)
    np.testing.assert_allclose(layer.forward(x, training=True), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    "pool_size, stride, input_shape, output_shape",
    [(2, None, (16, 26, 26), (16, 13, 13)), (2, None, (32, 11, 11), (32, 5, 5)), (3, 1, (1, 5, 7), (1, 3, 5))],
)
def test_pooling_output_drops_rows_and_columns_no_whole_window_covers(
    pool_size, stride, input_shape, output_shape, rng
):
    for cls in (MaxPool2D, AvgPool2D):
        assert cls(pool_size, stride).build(input_shape, rng, np.float32) == output_shape


@pytest.mark.parametrize("cls", [MaxPool2D, AvgPool2D], ids=["max", "avg"])
@pytest.mark.parametrize("pool_size, stride", WINDOWS)
def test_pooling_backpropagates_the_exact_gradient(cls, pool_size, stride, rng, gradients_match):
    layer = _built(cls(pool_size, stride), (2, 7, 6), rng)
    gradients_match(layer, rng.standard_normal((3, 2, 7, 6)), rng)  # continuous values: no ties


def test_maxpool_routes_each_gradient_to_its_window_maximum_only():
    x = np.array([[[[1.0, 5.0], [3.0, 2.0]]]])  # one 2x2 window, max 5 at (0, 1)
    layer = _built(MaxPool2D(2), (1, 2, 2), None)
    assert layer.forward(x, training=True).item() == 5.0
    np.testing.assert_array_equal(layer.backward(np.array([[[[7.0]]]])), [[[[0.0, 7.0], [0.0, 0.0]]]])


def test_maxpool_gives_a_tie_s_gradient_to_the_first_maximum_in_row_major_order():
    x = np.array([[[[2.0, 4.0], [4.0, 4.0]]]])
    layer = _built(MaxPool2D(2), (1, 2, 2), None)
    layer.forward(x, training=True)
    np.testing.assert_array_equal(layer.backward(np.ones((1, 1, 1, 1))), [[[[0.0, 1.0], [0.0, 0.0]]]])


def test_overlapping_max_windows_add_their_gradients_on_a_shared_maximum():
    x = np.array([[[[0.0, 0.0, 0.0], [0.0, 9.0, 0.0], [0.0, 0.0, 0.0]]]])  # 9 is the max of all four windows
    layer = _built(MaxPool2D(2, stride=1), (1, 3, 3), None)
    layer.forward(x, training=True)
    dx = layer.backward(np.ones((1, 1, 2, 2)))
    assert dx[0, 0, 1, 1] == 4.0 and dx.sum() == 4.0


def test_avgpool_spreads_each_gradient_evenly_over_its_window():
    layer = _built(AvgPool2D(2), (1, 4, 4), None)
    layer.forward(np.zeros((1, 1, 4, 4)), training=True)
    dx = layer.backward(np.array([[[[4.0, 8.0], [0.0, 2.0]]]]))
    np.testing.assert_array_equal(dx[0, 0], [[1, 1, 2, 2], [1, 1, 2, 2], [0, 0, 0.5, 0.5], [0, 0, 0.5, 0.5]])


@pytest.mark.parametrize("cls", [MaxPool2D, AvgPool2D], ids=["max", "avg"])
def test_pooling_stays_in_float32_and_accepts_a_gradient_in_any_memory_layout(cls, rng):
    layer = _built(cls(2), (3, 6, 6), rng, np.float32)
    x = rng.standard_normal((4, 6, 6, 3)).astype(np.float32).transpose(0, 3, 1, 2)  # channels-last memory
    y = layer.forward(x, training=True)
    dy = rng.standard_normal(y.shape).astype(np.float32)  # C-ordered, as flatten's backward gives it
    dx = layer.backward(dy)
    assert y.dtype == dx.dtype == np.float32
    expected = _built(cls(2), (3, 6, 6), rng).forward(np.ascontiguousarray(x, np.float64), training=True)
    np.testing.assert_allclose(y, expected, rtol=1e-6)
    np.testing.assert_allclose(dx.sum(), dy.sum(), rtol=1e-5)  # both route or spread dy without loss


@pytest.mark.parametrize(
    "entry, where, message",
    [
        ({"type": "maxpool2d", "pool_size": 0}, "model.layers.0.pool_size", "must be > 0 (got 0)"),
        ({"type": "avgpool2d", "stride": -2}, "model.layers.0.stride", "must be > 0 (got -2)"),
        ({"type": "maxpool2d", "pool_size": 2.0}, "model.layers.0.pool_size", "a whole number"),
    ],
)
def test_a_bad_pooling_value_is_a_config_error_at_its_key_path(entry, where, message):
    with pytest.raises(ConfigError) as info:
        build_layers([entry])
    assert info.value.where == where and message in info.value.what


def test_a_misspelt_pooling_key_gets_a_suggestion():
    with pytest.raises(ConfigError) as info:
        build_layers([{"type": "maxpool2d", "pool": 2}])
    assert (info.value.where, info.value.fix) == ("model.layers.0.pool", "did you mean 'pool_size'?")
