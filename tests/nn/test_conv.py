"""Conv2D: the definition by loops, output shapes, exact float64 gradients, float32 throughout, config errors."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.errors import ConfigError
from backprop_cli.nn.conv.conv2d import Conv2D
from backprop_cli.nn.registry import build_layers


def _built(layer, input_shape, rng, dtype=np.float64):
    layer.build(input_shape, rng, dtype)
    return layer


def conv_by_loops(x, W, b, stride, pads):
    """The definition, one output at a time: y[n, f, i, j] = b[f] + sum W[f] * x_pad[n, :, s*i:s*i+k, s*j:s*j+k]."""
    top, bottom, left, right = pads
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    n, (f, _, k, _) = x.shape[0], W.shape
    oh, ow = (xp.shape[2] - k) // stride + 1, (xp.shape[3] - k) // stride + 1
    y = np.zeros((n, f, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * stride : i * stride + k, j * stride : j * stride + k]  # (N, C, k, k)
            y[:, :, i, j] = np.einsum("ncpq,fcpq->nf", patch, W) + (0 if b is None else b)
    return y


@pytest.mark.parametrize(
    "kernel_size, stride, padding, pads",
    [(3, 1, 0, (0, 0, 0, 0)), (3, 2, 1, (1, 1, 1, 1)), (2, 1, "same", (0, 1, 0, 1)), (3, 2, "same", (1, 1, 0, 1))],
)
def test_conv2d_computes_the_cross_correlation_of_its_definition(kernel_size, stride, padding, pads, rng):
    layer = _built(Conv2D(4, kernel_size, stride=stride, padding=padding), (3, 7, 6), rng)
    layer.params["b"][:] = rng.standard_normal(4)
    x = rng.standard_normal((2, 3, 7, 6))
    expected = conv_by_loops(x, layer.params["W"], layer.params["b"], stride, pads)
    np.testing.assert_allclose(layer.forward(x, training=True), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "input_shape, kwargs, output_shape",
    [
        ((1, 28, 28), {"kernel_size": 3}, (16, 26, 26)),
        ((1, 28, 28), {"kernel_size": 3, "padding": "same"}, (16, 28, 28)),
        ((3, 7, 6), {"kernel_size": 3, "stride": 2, "padding": "same"}, (16, 4, 3)),  # ceil(7/2), ceil(6/2)
        ((3, 7, 6), {"kernel_size": 3, "stride": 2, "padding": 1}, (16, 4, 3)),
        ((3, 8, 8), {"kernel_size": 2, "stride": 3}, (16, 3, 3)),  # the last row and column are never read
        ((2, 5, 5), {"kernel_size": 5}, (16, 1, 1)),
    ],
)
def test_conv2d_output_shape_follows_kernel_stride_and_padding(input_shape, kwargs, output_shape, rng):
    layer = Conv2D(16, **kwargs)
    assert layer.build(input_shape, rng, np.float32) == output_shape
    assert layer.forward(np.zeros((2, *input_shape), np.float32), training=False).shape == (2, *output_shape)


def test_conv2d_weights_have_the_checkpoint_layout_out_in_kh_kw(rng):
    layer = _built(Conv2D(8, 3), (2, 6, 6), rng)
    assert {k: p.shape for k, p in layer.params.items()} == {"W": (8, 2, 3, 3), "b": (8,)}
    assert layer.regularized == ("W",)  # penalties and weight decay skip the bias


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("padding", [0, 1, "same"])
@pytest.mark.parametrize("use_bias", [True, False], ids=["bias", "no-bias"])
def test_conv2d_backpropagates_the_exact_gradient(stride, padding, use_bias, rng, gradients_match):
    layer = _built(Conv2D(3, 3, stride=stride, padding=padding, use_bias=use_bias), (2, 6, 5), rng)
    entries = gradients_match(layer, rng.standard_normal((2, 2, 6, 5)), rng)
    assert [e.name for e in entries] == (["W", "b", "x"] if use_bias else ["W", "x"])


@pytest.mark.parametrize("activation", ["relu", "tanh", "elu", "sigmoid"])
def test_conv2d_backpropagates_through_its_inner_activation(activation, rng, gradients_match):
    layer = _built(Conv2D(3, 2, stride=2, padding="same", activation=activation), (2, 5, 5), rng)
    layer.params["b"][:] = 0.1  # keeps relu's pre-activations away from the kink at 0
    gradients_match(layer, rng.standard_normal((3, 2, 5, 5)), rng)


def test_conv2d_in_a_model_is_checked_end_to_end_against_a_loss(rng, gradients_match):
    from backprop_cli.nn.losses import build_loss
    from backprop_cli.nn.model import build_model

    layer_specs = [
        {"type": "conv2d", "filters": 3, "kernel_size": 3, "padding": "same", "activation": "tanh"},
        {"type": "avgpool2d"},
        {"type": "conv2d", "filters": 4, "kernel_size": 2, "stride": 2, "activation": "elu"},
        {"type": "maxpool2d", "pool_size": 2, "stride": 1},
        {"type": "flatten"},
        {"type": "dense", "units": 3},
    ]
    model = build_model(layer_specs, (2, 9, 9), rng, np.float64)
    x, labels = rng.standard_normal((4, 2, 9, 9)), rng.integers(0, 3, 4)
    entries = gradients_match(model, x, rng, loss=build_loss("cross_entropy"), target=labels)
    assert {e.name for e in entries} == {"0.W", "0.b", "2.W", "2.b", "5.W", "5.b", "x"}


def test_a_first_conv2d_skips_its_input_gradient_without_changing_its_weight_gradients(rng):
    layer_a, layer_b = (_built(Conv2D(3, 3, padding=1), (2, 5, 5), np.random.default_rng(7)) for _ in range(2))
    layer_b.input_grad = False
    x, dy = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((2, 3, 5, 5))
    for layer in (layer_a, layer_b):
        layer.forward(x, training=True)
    assert layer_a.backward(dy).shape == x.shape and layer_b.backward(dy) is None
    for key in ("W", "b"):
        np.testing.assert_array_equal(layer_a.grads[key], layer_b.grads[key])


def test_conv2d_stays_in_float32_forward_and_backward(rng):
    layer = _built(Conv2D(4, 3, stride=2, padding="same", activation="relu"), (2, 7, 7), rng, np.float32)
    x = rng.standard_normal((3, 2, 7, 7)).astype(np.float32)
    y = layer.forward(x, training=True)
    dx = layer.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == layer.grads["W"].dtype == layer.grads["b"].dtype == np.float32


def test_the_reused_padding_buffer_never_leaks_one_batch_into_the_next(rng):
    used, fresh = (_built(Conv2D(2, 3, padding=2), (1, 4, 4), np.random.default_rng(5)) for _ in range(2))
    first, second = rng.standard_normal((2, 1, 4, 4)), rng.standard_normal((2, 1, 4, 4))
    used.forward(first, training=True)
    np.testing.assert_array_equal(used.forward(second, training=True), fresh.forward(second, training=True))


def _config_error(entry, before=({"type": "relu"},)) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        build_layers([*before, entry])
    return info.value


@pytest.mark.parametrize(
    "entry, where, message",
    [
        ({"type": "conv2d", "kernel_size": 3}, "model.layers.1.filters", "is required"),
        ({"type": "conv2d", "filters": 0, "kernel_size": 3}, "model.layers.1.filters", "must be > 0 (got 0)"),
        ({"type": "conv2d", "filters": 5000, "kernel_size": 3}, "model.layers.1.filters", "must be <= 4096"),
        ({"type": "conv2d", "filters": 8, "kernel_size": 32}, "model.layers.1.kernel_size", "must be <= 31"),
        ({"type": "conv2d", "filters": 8, "kernel_size": "3"}, "model.layers.1.kernel_size", "a whole number"),
        ({"type": "conv2d", "filters": 8, "kernel_size": 3, "stride": 0}, "model.layers.1.stride", "must be > 0"),
        (
            {"type": "conv2d", "filters": 8, "kernel_size": 3, "padding": "valid"},
            "model.layers.1.padding",
            "must be a whole number from 0 to 1024, or 'same' (got 'valid')",
        ),
        ({"type": "conv2d", "filters": 8, "kernel_size": 3, "padding": -1}, "model.layers.1.padding", "(got -1)"),
        (
            {"type": "conv2d", "filters": 8, "kernel_size": 3, "use_bias": "no"},
            "model.layers.1.use_bias",
            "true or false",
        ),
    ],
)
def test_a_bad_conv2d_value_is_a_config_error_at_its_key_path(entry, where, message):
    err = _config_error(entry)
    assert err.where == where
    assert message in err.what


@pytest.mark.parametrize(
    "entry, where, suggestion",
    [
        ({"type": "conv2d", "filters": 8, "kernel": 3}, "model.layers.1.kernel", "did you mean 'kernel_size'?"),
        (
            {"type": "conv2d", "filters": 8, "kernel_size": 3, "strides": 2},
            "model.layers.1.strides",
            "did you mean 'stride'?",
        ),
        (
            {"type": "conv2d", "filters": 8, "kernel_size": 3, "activation": "rleu"},
            "model.layers.1.activation",
            "did you mean 'relu'?",
        ),
        ({"type": "conv2", "filters": 8, "kernel_size": 3}, "model.layers.1.type", "did you mean 'conv2d'?"),
    ],
)
def test_a_misspelt_conv2d_key_or_name_is_a_config_error_with_a_suggestion(entry, where, suggestion):
    err = _config_error(entry)
    assert (err.where, err.fix) == (where, suggestion)


def test_softmax_is_refused_as_a_conv2d_activation_with_its_key_path():
    err = _config_error({"type": "conv2d", "filters": 8, "kernel_size": 3, "activation": "softmax"})
    assert err.where == "model.layers.1.activation" and "flatten" in err.what


def test_conv2d_without_an_init_picks_he_after_relu_and_glorot_otherwise():
    assert Conv2D(4, 3, activation="relu").init == "he_normal"
    assert Conv2D(4, 3).init == "xavier_uniform"
