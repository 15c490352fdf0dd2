"""The gradient checker itself: it must catch a wrong backward, and it must leave the model as it found it."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.nn.core.activations import Tanh
from backprop_cli.nn.core.dense import Dense
from backprop_cli.nn.gradcheck import check_gradients, gradient_check_entries, relative_error
from backprop_cli.nn.model import build_model


def test_gradcheck_catches_a_wrong_backward(rng):
    layer = Tanh()
    layer.backward = lambda dy: dy  # "forgets" tanh's derivative
    assert check_gradients(layer, rng.standard_normal((4, 3)), rng)["x"] > 1e-2


def test_gradcheck_catches_a_wrong_parameter_gradient(rng):
    layer = Dense(3)
    layer.build((4,), rng, np.float64)
    right = layer.backward

    def backward_that_forgets_the_bias(dy):
        dx = right(dy)
        layer.grads["b"][...] = 0.0
        return dx

    layer.backward = backward_that_forgets_the_bias
    errors = check_gradients(layer, rng.standard_normal((5, 4)), rng)
    assert errors["b"] > 0.5
    assert errors["W"] < 1e-7 and errors["x"] < 1e-7


def test_relative_error_is_zero_for_agreement_and_one_for_opposite_signs():
    np.testing.assert_array_equal(relative_error(np.array([2.0, 0.0]), np.array([2.0, 0.0])), [0.0, 0.0])
    np.testing.assert_allclose(relative_error(np.array([1.0]), np.array([-1.0])), [1.0])


def test_entries_report_shapes_counts_and_absolute_errors(rng):
    layer = Dense(3)
    layer.build((4,), rng, np.float64)
    entries = gradient_check_entries(layer, rng.standard_normal((2, 4)), rng)
    assert [(e.name, e.shape, e.n_checked) for e in entries] == [("W", (4, 3), 12), ("b", (3,), 3), ("x", (2, 4), 8)]
    assert all(e.max_abs_error < 1e-8 for e in entries)


def test_max_coords_samples_at_most_that_many_entries_per_tensor(rng):
    model = build_model([{"type": "dense", "units": 20}, {"type": "dense", "units": 2}], (30,), rng, np.float64)
    entries = gradient_check_entries(model, rng.standard_normal((3, 30)), rng, max_coords=10)
    assert {e.name: e.n_checked for e in entries} == {"0.W": 10, "0.b": 10, "1.W": 10, "1.b": 2, "x": 10}


def test_gradcheck_leaves_parameters_running_statistics_and_the_generator_unchanged(rng):
    model = build_model([{"type": "batchnorm"}, {"type": "dropout", "rate": 0.5}], (3,), rng, np.float64)
    params, state = model.flat_params.copy(), {k: v.copy() for k, v in model.state_tensors().items()}
    x = rng.standard_normal((4, 3))
    before = rng.bit_generator.state
    assert max(check_gradients(model, x, rng).values()) < 1e-7  # dropout drew from rng: the check replays it
    np.testing.assert_array_equal(model.flat_params, params)
    for name, t in model.state_tensors().items():
        np.testing.assert_array_equal(t, state[name])
    assert rng.bit_generator.state == before


def test_gradcheck_refuses_a_float32_model(rng):
    model = build_model([{"type": "dense", "units": 2}], (3,), rng, np.float32)
    with pytest.raises(TypeError, match="float64"):
        check_gradients(model, rng.standard_normal((2, 3)), rng)
