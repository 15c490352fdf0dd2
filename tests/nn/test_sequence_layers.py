"""conv1d, 1-D pooling, global pooling and reshape: exact gradients, PyTorch's numbers, shape errors."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.errors import ConfigError
from backprop_cli.nn.conv.conv1d import Conv1D
from backprop_cli.nn.model import estimate_param_count
from backprop_cli.nn.pooling.global_pool import GlobalAvgPool, GlobalMaxPool
from backprop_cli.nn.pooling.pool1d import AvgPool1D, MaxPool1D
from backprop_cli.nn.reshaping.reshape import Reshape
from tests.torch_recorded import CONV1D_CASES, case, recorded

DENSE = {"type": "dense", "units": 2}


def built(layer, input_shape, rng, dtype=np.float64):
    layer.build(input_shape, rng, dtype)
    for p in layer.params.values():
        p[...] = 0.5 * rng.standard_normal(p.shape)
    return layer


@pytest.mark.parametrize(
    "kwargs, length, out_len",
    [
        ({"kernel_size": 3}, 9, 7),
        ({"kernel_size": 3, "stride": 2}, 9, 4),
        ({"kernel_size": 3, "padding": 2}, 6, 8),
        ({"kernel_size": 4, "padding": "same"}, 7, 7),  # even kernel: the odd step padded on the right
        ({"kernel_size": 3, "stride": 2, "padding": "same"}, 8, 4),
        ({"kernel_size": 3, "dilation": 2}, 9, 5),
        ({"kernel_size": 2, "stride": 3, "dilation": 3, "padding": "same"}, 10, 4),
        ({"kernel_size": 1}, 1, 1),
    ],
)
@pytest.mark.parametrize("n", [1, 3])
def test_conv1d_backpropagates_exactly_at_each_stride_padding_and_dilation(
    kwargs, length, out_len, n, rng, gradients_match
):
    layer = built(Conv1D(3, activation="tanh", **kwargs), (2, length), rng)
    assert layer._out_len == out_len
    gradients_match(layer, rng.standard_normal((n, 2, length)), rng)


def test_conv1d_without_bias_checks_only_its_weights(rng, gradients_match):
    layer = built(Conv1D(2, 3, use_bias=False), (3, 6), rng)
    assert [e.name for e in gradients_match(layer, rng.standard_normal((2, 3, 6)), rng)] == ["W", "x"]


@pytest.mark.parametrize("i", range(4), ids=["k3", "k5-s2-p2", "k3-d3-p1", "k4-s3-d2"])
def test_conv1d_equals_pytorchs_conv1d_with_the_same_weights(i):
    kwargs = CONV1D_CASES[i]
    numbers = case(recorded("conv1d"), str(i))  # PyTorch's numbers (tests/fixtures/make_torch_fixtures.py)
    layer = Conv1D(4, **kwargs)
    layer.build((3, 17), np.random.default_rng(0), np.float32)
    layer.params["W"][...], layer.params["b"][...] = numbers["W"], numbers["b"]
    y = layer.forward(numbers["x"], training=True)
    np.testing.assert_allclose(y, numbers["y"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.backward(numbers["dy"]), numbers["dx"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(layer.grads["W"], numbers["dW"], rtol=1e-4, atol=1e-4)


def test_conv1d_computes_the_cross_correlation_written_out(rng):
    layer = built(Conv1D(2, 3, stride=2, dilation=2, padding=1), (2, 9), rng)
    x = rng.standard_normal((2, 2, 9))
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1)))
    y = layer.forward(x, training=False)
    W, b = layer.params["W"], layer.params["b"]
    for i in range(y.shape[2]):
        window = xp[:, :, 2 * i : 2 * i + 5 : 2]  # taps s*i + d*p, p = 0..2
        np.testing.assert_allclose(y[:, :, i], np.einsum("ncp,fcp->nf", window, W) + b)


@pytest.mark.parametrize(
    "layer, length",
    [
        (MaxPool1D(2), 7),
        (MaxPool1D(3, stride=1), 6),  # overlapping windows: a step can be the max of several
        (AvgPool1D(2), 8),
        (AvgPool1D(3, stride=2), 9),
    ],
)
@pytest.mark.parametrize("n", [1, 3])
def test_pool1d_backpropagates_exactly(layer, length, n, rng, gradients_match):
    built(layer, (2, length), rng)
    gradients_match(layer, rng.standard_normal((n, 2, length)), rng)


def test_maxpool1d_sends_a_tie_to_the_first_maximum_only(rng):
    layer = built(MaxPool1D(2), (1, 4), rng)
    y = layer.forward(np.array([[[1.0, 1.0, 0.0, 2.0]]]), training=True)
    np.testing.assert_array_equal(y, [[[1.0, 2.0]]])
    np.testing.assert_array_equal(layer.backward(np.ones_like(y)), [[[1.0, 0.0, 0.0, 1.0]]])


@pytest.mark.parametrize("cls", [GlobalAvgPool, GlobalMaxPool])
@pytest.mark.parametrize("shape", [(3, 7), (2, 3, 4), (2, 1)])
def test_global_pools_reduce_sequences_and_images_to_one_number_per_channel(cls, shape, rng, gradients_match):
    layer = built(cls(), shape, rng)
    x = rng.standard_normal((4, *shape))
    y = layer.forward(x, training=True)
    reduce = np.mean if cls is GlobalAvgPool else np.max
    np.testing.assert_allclose(y, reduce(x.reshape(4, shape[0], -1), axis=2))
    gradients_match(layer, x, rng)


def test_reshape_gives_a_row_of_numbers_a_channel_and_hands_back_the_gradient_in_its_shape(rng, gradients_match):
    layer = built(Reshape([1, -1]), (12,), rng)
    assert layer.out_shape == (1, 12)
    gradients_match(layer, rng.standard_normal((3, 12)), rng)


def test_a_reshape_that_does_not_fit_says_what_would():
    with pytest.raises(ConfigError) as info:
        estimate_param_count([{"type": "reshape", "shape": [2, 5]}], (12,))
    assert "does not fit its input of shape (12,)" in info.value.what and "[1, 12]" in info.value.fix


@pytest.mark.parametrize(
    "layer_specs, input_shape, where, message, fix",
    [
        (
            [{"type": "flatten"}, {"type": "lstm", "units": 4}],
            (2, 9),
            "model.layers.1",
            "an lstm layer needs sequences of shape (C, L), but its input has shape (18,)",
            "{type: reshape, shape: [1, 18]}",
        ),
        (
            [{"type": "conv1d", "filters": 2, "kernel_size": 3}],
            (1, 8, 8),
            "model.layers.0",
            "a conv1d layer needs sequences of shape (C, L), but its input has shape (1, 8, 8)",
            "{type: reshape, shape: [1, 64]}",
        ),
        (
            [{"type": "gru", "units": 2}],
            (9,),
            "model.layers.0",
            "a gru layer needs sequences of shape (C, L), but its input has shape (9,)",
            "`embedding`",
        ),
        (
            [{"type": "conv1d", "filters": 2, "kernel_size": 5, "dilation": 3}],
            (2, 12),
            "model.layers.0",
            "a conv1d window of 13 steps (5 taps, 3 apart) does not fit an input of 12 steps",
            "smaller kernel_size",
        ),
        ([{"type": "flatten"}, {"type": "global_avgpool"}], (2, 9), "model.layers.1", "shape (18,)", "flatten"),
    ],
)  # fmt: skip
def test_a_sequence_layer_on_the_wrong_shape_is_a_config_error_naming_layer_and_shapes(
    layer_specs, input_shape, where, message, fix
):
    with pytest.raises(ConfigError) as info:
        estimate_param_count(layer_specs, input_shape)
    assert info.value.where == where and message in info.value.what and fix in info.value.fix


def test_every_new_layer_explains_itself_and_counts_its_flops(rng):
    for layer, shape in [
        (Conv1D(3, 3, padding="same"), (2, 8)),
        (MaxPool1D(2), (2, 8)),
        (AvgPool1D(2), (2, 8)),
        (GlobalAvgPool(), (2, 8)),
        (GlobalMaxPool(), (2, 8)),
        (Reshape([16]), (2, 8)),
    ]:
        built(layer, shape, rng)
        text = layer.explain()
        assert text["forward"] and text["backward"]
        fwd, bwd = layer.flops(4)
        assert fwd >= 0 and bwd >= 0
    conv = built(Conv1D(3, 3, padding="same"), (2, 8), rng)
    assert conv.flops(4) == (2 * 4 * 3 * 8 * 2 * 3, 4 * 4 * 3 * 8 * 2 * 3)
