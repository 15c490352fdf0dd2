"""Activations: their values, their stability at the extremes, and their dtype."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from backprop_cli.nn.core.activations import ACTIVATIONS, ELU, GELU, LeakyReLU, ReLU, Sigmoid, Softmax

X = np.array([[-2.0, -0.5, 0.0, 0.5, 3.0]])


def test_relu_zeroes_negatives_and_passes_gradient_only_where_the_input_was_positive():
    layer = ReLU()
    np.testing.assert_array_equal(layer.forward(X, training=True), [[0, 0, 0, 0.5, 3.0]])
    np.testing.assert_array_equal(layer.backward(np.ones_like(X)), [[0, 0, 0, 1, 1]])


def test_leaky_relu_scales_negatives_by_alpha():
    layer = LeakyReLU(alpha=0.1)
    np.testing.assert_allclose(layer.forward(X, training=True), [[-0.2, -0.05, 0, 0.5, 3.0]])
    np.testing.assert_allclose(layer.backward(np.ones_like(X)), [[0.1, 0.1, 0.1, 1, 1]])


def test_elu_saturates_at_minus_alpha_and_is_the_identity_for_positives():
    y = ELU(alpha=2.0).forward(np.array([[-1e4, -1.0, 0.5]]), training=True)
    np.testing.assert_allclose(y, [[-2.0, 2.0 * (math.exp(-1) - 1), 0.5]])


def test_gelu_is_close_to_the_exact_erf_form():
    x = np.linspace(-6, 6, 241)
    exact = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x])
    assert np.max(np.abs(GELU().forward(x[None, :], training=True)[0] - exact)) < 1e-3


def test_sigmoid_and_softmax_stay_finite_and_exact_at_logits_of_1e4():
    big = np.array([[-1e4, 0.0, 1e4]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings either
        np.testing.assert_array_equal(Sigmoid().forward(big, training=True), [[0.0, 0.5, 1.0]])
        np.testing.assert_array_equal(Softmax().forward(big, training=True), [[0.0, 0.0, 1.0]])


def test_softmax_rows_are_probability_distributions(rng):
    y = Softmax().forward(rng.standard_normal((4, 6)) * 10, training=True)
    assert np.all(y >= 0)
    np.testing.assert_allclose(y.sum(axis=1), 1.0)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_activation_keeps_float32_in_float32(name, rng):
    layer = ACTIVATIONS[name]()
    x = rng.standard_normal((3, 4)).astype(np.float32)
    y = layer.forward(x, training=True)
    assert y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32
