"""Behaviour of the layers with parameters or modes: dense, dropout, batchnorm, residual, flatten."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.nn.core.dense import Dense
from backprop_cli.nn.core.dropout import Dropout
from backprop_cli.nn.core.residual import Residual
from backprop_cli.nn.normalization.batchnorm import BatchNorm
from backprop_cli.nn.reshaping.flatten import Flatten


def test_dense_computes_x_at_w_plus_b(rng):
    layer = Dense(3)
    layer.build((4,), rng, np.float64)
    layer.params["b"][:] = [1.0, 2.0, 3.0]
    x = rng.standard_normal((2, 4))
    np.testing.assert_allclose(layer.forward(x, training=False), x @ layer.params["W"] + [1.0, 2.0, 3.0])
    assert layer.regularized == ("W",)


def test_dense_flattens_images_and_hands_back_an_image_shaped_gradient(rng):
    layer = Dense(5)
    assert layer.build((2, 3, 4), rng, np.float32) == (5,)
    assert layer.params["W"].shape == (24, 5)
    x = rng.standard_normal((6, 2, 3, 4)).astype(np.float32)
    y = layer.forward(x, training=True)
    assert layer.backward(np.ones_like(y)).shape == x.shape


def test_dense_without_bias_has_only_weights(rng):
    layer = Dense(2, use_bias=False)
    layer.build((3,), rng, np.float64)
    assert set(layer.params) == set(layer.grads) == {"W"}


def test_dropout_is_the_identity_at_inference_and_at_rate_zero(rng):
    x = rng.standard_normal((4, 5))
    layer = Dropout(0.5)
    layer.build((5,), rng, np.float64)
    assert layer.forward(x, training=False) is x
    assert layer.backward(x) is x
    zero = Dropout(0.0)
    zero.build((5,), rng, np.float64)
    assert zero.forward(x, training=True) is x


def test_dropout_drops_about_rate_of_the_units_and_scales_the_rest_to_keep_the_mean(rng):
    rate, n = 0.3, 100_000
    layer = Dropout(rate)
    layer.build((n,), rng, np.float64)
    y = layer.forward(np.ones((1, n)), training=True)
    dropped = np.mean(y == 0)
    assert abs(dropped - rate) < 5 * np.sqrt(rate * (1 - rate) / n)
    np.testing.assert_allclose(y[y != 0], 1 / (1 - rate))
    np.testing.assert_array_equal(layer.backward(np.ones((1, n))), y)  # the same mask, both ways


def test_dropout_masks_come_from_the_generator_given_to_build():
    masks = []
    for _ in range(2):
        layer = Dropout(0.5)
        layer.build((8,), np.random.default_rng(5), np.float32)
        masks.append(layer.forward(np.ones((2, 8), dtype=np.float32), training=True))
    np.testing.assert_array_equal(*masks)
    assert masks[0].dtype == np.float32


def test_batchnorm_training_output_has_zero_mean_and_unit_variance_per_feature(rng):
    layer = BatchNorm()
    layer.build((3,), rng, np.float64)
    y = layer.forward(5.0 + 3.0 * rng.standard_normal((64, 3)), training=True)
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=0), 1.0, rtol=1e-3)


def test_batchnorm_running_statistics_follow_the_momentum_rule(rng):
    layer = BatchNorm(momentum=0.9)
    layer.build((2,), rng, np.float64)
    x = rng.standard_normal((10, 2)) + [1.0, -2.0]
    layer.forward(x, training=True)
    # running = momentum * running + (1 - momentum) * batch, from mean 0 and variance 1; unbiased variance
    np.testing.assert_allclose(layer.state["running_mean"], 0.1 * x.mean(axis=0))
    np.testing.assert_allclose(layer.state["running_var"], 0.9 + 0.1 * x.var(axis=0, ddof=1))
    assert set(layer.params) == {"gamma", "beta"}


def test_batchnorm_at_inference_uses_the_running_statistics_and_leaves_them_alone(rng):
    layer = BatchNorm(eps=1e-5)
    layer.build((2,), rng, np.float64)
    layer.state["running_mean"][:] = [1.0, 2.0]
    layer.state["running_var"][:] = [4.0, 9.0]
    layer.params["gamma"][:] = [2.0, 1.0]
    x = np.array([[3.0, 5.0]])
    expected = (x - [1.0, 2.0]) / np.sqrt(np.array([4.0, 9.0]) + 1e-5) * [2.0, 1.0]
    np.testing.assert_allclose(layer.forward(x, training=False), expected)
    np.testing.assert_array_equal(layer.state["running_mean"], [1.0, 2.0])


def test_batchnorm_on_images_normalizes_each_channel_over_batch_and_space(rng):
    layer = BatchNorm()
    assert layer.build((3, 4, 4), rng, np.float32) == (3, 4, 4)
    assert layer.params["gamma"].shape == (3,)
    x = (rng.standard_normal((8, 3, 4, 4)) * [[[1.0]], [[5.0]], [[0.1]]]).astype(np.float32)
    y = layer.forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0.0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1.0, rtol=1e-3)
    assert y.dtype == np.float32


def test_residual_adds_its_input_to_the_blocks_output(rng):
    block = Residual([Dense(4, init="zeros")])  # F(x) = 0, so y = x
    block.build((4,), rng, np.float64)
    x = rng.standard_normal((3, 4))
    np.testing.assert_array_equal(block.forward(x, training=True), x)
    np.testing.assert_array_equal(block.backward(np.ones((3, 4))), np.ones((3, 4)))  # the skip's gradient
    assert [key for key, _ in block.children()] == ["0"]


def test_residual_projects_the_skip_when_the_block_changes_the_shape(rng):
    block = Residual([Dense(3, activation="relu"), Dense(2)])
    assert block.build((5,), rng, np.float64) == (2,)
    assert [key for key, _ in block.children()] == ["0", "1", "proj"]
    assert block.proj.params["W"].shape == (5, 2) and block.proj.act is None


def test_flatten_turns_images_into_vectors_and_back(rng):
    layer = Flatten()
    assert layer.build((2, 3, 4), rng, np.float64) == (24,)
    x = rng.standard_normal((5, 2, 3, 4))
    y = layer.forward(x, training=True)
    assert y.shape == (5, 24) and np.shares_memory(y, x)
    assert layer.backward(y).shape == x.shape


@pytest.mark.parametrize("layer", [Dense(3, activation="relu"), BatchNorm()], ids=["dense", "batchnorm"])
def test_backward_overwrites_the_gradient_arrays_in_place(layer, rng):
    layer.build((3,), rng, np.float64)
    grads = {k: g for k, g in layer.grads.items()}
    y = layer.forward(rng.standard_normal((4, 3)), training=True)
    layer.backward(np.ones_like(y))
    assert all(layer.grads[k] is g for k, g in grads.items())
