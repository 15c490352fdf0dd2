"""Per-layer statistics read from the buffers and caches the last step left; numbers worked out by hand."""

from __future__ import annotations

import numpy as np

from backprop_cli.diagnostics.layer_stats import identical_units, layer_stats, watch
from backprop_cli.nn.model import build_model


def _model(specs, fan_in, rng):
    return build_model(specs, (fan_in,), rng, np.float64)


def test_gradient_and_weight_norms_cover_every_parameter_of_the_layer(rng):
    model = _model([{"type": "dense", "units": 3}, {"type": "dense", "units": 2}], 4, rng)
    model.flat_grads[...] = 0.0
    model.layers[0].grads["W"][0, 0], model.layers[0].grads["b"][1] = 3.0, 4.0  # |g| = 5
    stats = layer_stats(model, watch(model), before_step=None)
    assert stats["0"]["grad_norm"] == 5.0 and stats["1"]["grad_norm"] == 0.0
    W, b = model.layers[1].params["W"], model.layers[1].params["b"]
    assert np.isclose(stats["1"]["weight_norm"], np.sqrt(np.sum(W**2) + np.sum(b**2)))
    assert stats["0"]["update_ratio"] is None  # no snapshot from before the step


def test_update_ratio_is_the_last_steps_change_over_the_weights(rng):
    model = _model([{"type": "dense", "units": 2, "use_bias": False}], 2, rng)
    model.layers[0].params["W"][...] = [[3.0, 0.0], [0.0, 4.0]]  # |W| = 5
    before = model.flat_params.copy()
    model.layers[0].params["W"][0, 0] += 0.05  # |ΔW| = 0.05 (|W| barely changes)
    ratio = layer_stats(model, watch(model), before)["0"]["update_ratio"]
    assert np.isclose(ratio, 0.05 / np.linalg.norm(model.layers[0].params["W"]))


def test_a_relu_unit_that_is_zero_for_the_whole_batch_is_dead(rng):
    model = _model([{"type": "dense", "units": 3, "activation": "relu"}, {"type": "dense", "units": 2}], 2, rng)
    layer = model.layers[0]
    layer.params["W"][...] = [[1.0, -1.0, 1.0], [1.0, -1.0, -1.0]]
    layer.params["b"][...] = [0.0, -0.5, 0.0]
    model.forward(np.array([[1.0, 1.0], [2.0, 0.5], [0.5, 0.1]]), training=True)  # unit 1 is -2.5, -3, -1.1: dead
    stats = layer_stats(model, watch(model), None)
    assert stats["0"]["dead_fraction"] == 1 / 3 and stats["0"]["saturated_fraction"] is None
    assert stats["1"]["dead_fraction"] is None  # no relu there


def test_saturated_fraction_counts_sigmoid_activations_with_a_flat_derivative(rng):
    model = _model([{"type": "dense", "units": 2, "activation": "sigmoid"}], 1, rng)
    model.layers[0].params["W"][...] = [[10.0, 0.1]]
    model.layers[0].params["b"][...] = 0.0
    model.forward(np.array([[1.0], [0.0]]), training=True)  # sigmoid(10)' = 4.5e-5; the other three are >= 0.2
    assert layer_stats(model, watch(model), None)["0"]["saturated_fraction"] == 0.25


def test_a_standalone_activation_is_read_as_part_of_the_layer_before_it(rng):
    specs = [{"type": "dense", "units": 4}, {"type": "batchnorm"}, {"type": "relu"}, {"type": "dense", "units": 2}]
    model = _model(specs, 3, rng)
    assert [(w.name, type(w.activation).__name__) for w in watch(model)] == [
        ("0", "NoneType"), ("1", "ReLU"), ("3", "NoneType")]  # fmt: skip
    model.forward(rng.standard_normal((8, 3)), training=True)
    stats = layer_stats(model, watch(model), None)
    assert stats["1"]["dead_fraction"] == 0.0  # batchnorm centres each unit: none is negative for all 8 rows
    assert set(stats) == {"0", "1", "3"}


def test_identical_units_spot_a_zeros_init_but_not_a_random_one(rng):
    specs = [{"type": "dense", "units": 4, "init": "zeros"}, {"type": "dense", "units": 3}]
    model = _model(specs, 5, rng)
    zeros, random = watch(model)
    assert identical_units(zeros) and not identical_units(random)
    model.layers[0].params["W"][...] = np.arange(5.0)[:, None]  # every column the same, non-zero
    assert identical_units(zeros)


def test_identical_units_of_a_conv_layer_are_its_filters(rng):
    model = build_model([{"type": "conv2d", "filters": 3, "kernel_size": 2, "init": "zeros"}], (2, 4, 4), rng,
                        np.float64)  # fmt: skip
    (conv,) = watch(model)
    assert identical_units(conv)
    model.layers[0].params["W"][1, 0, 0, 0] = 1.0
    assert not identical_units(conv)
