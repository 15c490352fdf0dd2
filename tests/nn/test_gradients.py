"""Every backward pass agrees with float64 central differences (relative error < 1e-7)."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.nn import specs
from backprop_cli.nn.core.dense import Dense
from backprop_cli.nn.core.dropout import Dropout
from backprop_cli.nn.core.residual import Residual
from backprop_cli.nn.losses import build_loss
from backprop_cli.nn.model import build_model
from backprop_cli.nn.normalization.batchnorm import BatchNorm
from backprop_cli.nn.registry import build_layer
from backprop_cli.nn.reshaping.flatten import Flatten

from .layer_specs import LAYER_SPECS, input_shape, sample_input, spec_id


def _built(layer, input_shape, rng):
    layer.build(input_shape, rng, np.float64)
    return layer


@pytest.mark.parametrize("spec", LAYER_SPECS, ids=spec_id)
def test_every_registered_layer_backpropagates_its_exact_gradient(spec, rng, gradients_match):
    layer = _built(build_layer(spec), input_shape(spec), rng)
    gradients_match(layer, sample_input(spec, rng, 4), rng)


@pytest.mark.parametrize("activation", specs.ACTIVATION_NAMES)
def test_dense_backpropagates_through_each_built_in_activation(activation, rng, gradients_match):
    layer = _built(Dense(4, activation=activation), (5,), rng)
    entries = gradients_match(layer, rng.standard_normal((3, 5)), rng)
    assert [e.name for e in entries] == ["W", "b", "x"]


def test_dense_without_bias_checks_only_its_weights(rng, gradients_match):
    layer = _built(Dense(3, use_bias=False), (4,), rng)
    assert [e.name for e in gradients_match(layer, rng.standard_normal((2, 4)), rng)] == ["W", "x"]


def test_dense_on_images_flattens_them_and_returns_the_image_shaped_gradient(rng, gradients_match):
    layer = _built(Dense(3, activation="relu"), (2, 3, 3), rng)
    entries = gradients_match(layer, rng.standard_normal((4, 2, 3, 3)), rng)
    assert entries[-1].shape == (4, 2, 3, 3)


def test_dropout_gradient_matches_when_the_check_replays_its_mask(rng, gradients_match):
    layer = _built(Dropout(0.5), (6,), rng)
    gradients_match(layer, rng.standard_normal((5, 6)), rng)


def test_batchnorm_in_training_mode_backpropagates_through_the_batch_statistics(rng, gradients_match):
    layer = _built(BatchNorm(), (4,), rng)
    layer.params["gamma"][:] = rng.uniform(0.5, 2.0, 4)  # away from the identity-like start
    layer.params["beta"][:] = rng.standard_normal(4)
    gradients_match(layer, 3.0 + 2.0 * rng.standard_normal((6, 4)), rng)


def test_batchnorm_on_images_normalizes_per_channel_with_exact_gradients(rng, gradients_match):
    layer = _built(BatchNorm(), (2, 3, 3), rng)
    layer.params["gamma"][:] = [0.7, 1.6]
    gradients_match(layer, rng.standard_normal((3, 2, 3, 3)), rng)


def test_residual_with_identity_skip_adds_both_paths_gradients(rng, gradients_match):
    block = _built(Residual([Dense(5, activation="tanh"), Dense(5)]), (5,), rng)
    assert block.proj is None
    gradients_match(block, rng.standard_normal((4, 5)), rng)


def test_residual_with_a_projection_checks_the_projection_too(rng, gradients_match):
    block = _built(Residual([Dense(3, activation="elu")]), (5,), rng)
    entries = gradients_match(block, rng.standard_normal((4, 5)), rng)
    assert [e.name for e in entries] == ["0.W", "0.b", "proj.W", "proj.b", "x"]


def test_flatten_passes_image_gradients_back_in_their_shape(rng, gradients_match):
    layer = _built(Flatten(), (2, 2, 3), rng)
    gradients_match(layer, rng.standard_normal((3, 2, 2, 3)), rng)


DEEP = [
    {"type": "batchnorm"},
    {"type": "flatten"},
    {"type": "dense", "units": 8, "activation": "gelu"},
    {"type": "dropout", "rate": 0.25},
    {"type": "residual", "layers": [{"type": "batchnorm"}, {"type": "dense", "units": 8, "activation": "elu"}]},
    {"type": "residual", "layers": [{"type": "dense", "units": 6, "activation": "leaky_relu"}, {"type": "tanh"}]},
    {"type": "dense", "units": 6, "activation": "sigmoid", "init": "lecun_normal"},
    {"type": "dense", "units": 3},
]


def test_a_deep_mixed_network_backpropagates_the_exact_loss_gradient(rng, gradients_match):
    model = build_model(DEEP, (2, 2, 2), rng, np.float64)
    x, labels = rng.standard_normal((6, 2, 2, 2)), rng.integers(0, 3, 6)
    entries = gradients_match(model, x, rng, loss=build_loss("cross_entropy"), target=labels)
    assert {e.name for e in entries} == {name for name, _, _ in model.named_params()} | {"x"}


def test_a_deep_mixed_network_backpropagates_every_output_exactly(rng, gradients_match):
    model = build_model(DEEP, (2, 2, 2), rng, np.float64)
    gradients_match(model, rng.standard_normal((5, 2, 2, 2)), rng)
