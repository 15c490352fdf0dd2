"""Initializers: the variance each scheme promises, within a few standard errors of the sample."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backprop_cli.nn.core.dense import Dense
from backprop_cli.nn.initializers import INITIALIZERS, default_init, fans, initialize

FAN_IN, FAN_OUT = 300, 200  # 60,000 draws per test
Z = 5.0  # standard errors allowed: a false alarm is a ~1e-6 event

# name -> (distribution, expected variance)
VARIANCES = {
    "normal": ("normal", 0.05**2),
    "uniform": ("uniform", 0.05**2 / 3),
    "xavier_uniform": ("uniform", 2 / (FAN_IN + FAN_OUT)),
    "xavier_normal": ("normal", 2 / (FAN_IN + FAN_OUT)),
    "he_uniform": ("uniform", 2 / FAN_IN),
    "he_normal": ("normal", 2 / FAN_IN),
    "lecun_normal": ("normal", 1 / FAN_IN),
}


@pytest.mark.parametrize("name", sorted(VARIANCES))
def test_each_random_initializer_has_mean_zero_and_its_promised_variance(name, rng):
    w = INITIALIZERS[name]((FAN_IN, FAN_OUT), FAN_IN, FAN_OUT, rng, np.float64, 0.05)
    kind, var = VARIANCES[name]
    n = w.size
    # standard error of the sample variance: sqrt(2/n) var for a normal, sqrt(0.8/n) var for a uniform
    se_var = var * math.sqrt((2.0 if kind == "normal" else 0.8) / n)
    assert abs(w.var() - var) < Z * se_var
    assert abs(w.mean()) < Z * math.sqrt(var / n)


@pytest.mark.parametrize("name", ["uniform", "xavier_uniform", "he_uniform"])
def test_uniform_initializers_stay_inside_their_limit(name, rng):
    w = INITIALIZERS[name]((FAN_IN, FAN_OUT), FAN_IN, FAN_OUT, rng, np.float64, 0.05)
    limit = math.sqrt(3 * VARIANCES[name][1])
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.99 * limit


def test_zeros_and_constant_fill_every_weight_with_one_value(rng):
    assert not np.any(initialize("zeros", (3, 4), rng, np.float64, 0.05))
    np.testing.assert_array_equal(initialize("constant", (3, 4), rng, np.float64, 0.25), 0.25)


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
def test_every_initializer_returns_the_requested_shape_and_dtype(name, rng):
    w = initialize(name, (7, 3), rng, np.float32, 0.1)
    assert w.shape == (7, 3) and w.dtype == np.float32


def test_fans_of_dense_and_conv_weights():
    assert fans((784, 128)) == (784, 128)
    assert fans((16, 3, 5, 5)) == (3 * 25, 16 * 25)  # conv (out, in, kh, kw)


@pytest.mark.parametrize(
    "activation, init",
    [("relu", "he_normal"), ("leaky_relu", "he_normal"), ("elu", "he_normal"), ("gelu", "he_normal")]
    + [(a, "xavier_uniform") for a in (None, "linear", "tanh", "sigmoid", "softmax")],
)
def test_dense_defaults_to_he_after_the_relu_family_and_glorot_otherwise(activation, init):
    assert default_init(activation) == init
    assert Dense(3, activation=activation).init == init


def test_a_relu_dense_layer_starts_with_he_variance_and_zero_bias(rng):
    layer = Dense(FAN_OUT, activation="relu")
    layer.build((FAN_IN,), rng, np.float64)
    var = 2 / FAN_IN
    assert abs(layer.params["W"].var() - var) < Z * var * math.sqrt(2 / (FAN_IN * FAN_OUT))
    assert not np.any(layer.params["b"])


def test_one_seed_gives_the_same_weights(rng):
    a = initialize("he_normal", (5, 5), np.random.default_rng(3), np.float32, 0.0)
    b = initialize("he_normal", (5, 5), np.random.default_rng(3), np.float32, 0.0)
    np.testing.assert_array_equal(a, b)


def test_dense_passes_init_scale_to_its_initializer(rng):
    layer = Dense(3, init="constant", init_scale=0.3)
    layer.build((2,), rng, np.float32)
    np.testing.assert_array_equal(layer.params["W"], np.float32(0.3))
