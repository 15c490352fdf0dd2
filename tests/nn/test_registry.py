"""The layer registry: one contract for every layer, spec and table kept equal, config mistakes as user errors."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.config.validation import lookup, validate
from backprop_cli.errors import ConfigError
from backprop_cli.nn import specs
from backprop_cli.nn.core.activations import ACTIVATIONS
from backprop_cli.nn.core.dense import Dense
from backprop_cli.nn.initializers import INITIALIZERS
from backprop_cli.nn.registry import LAYERS, build_layer, build_layers

from .layer_specs import LAYER_SPECS, input_shape, sample_input, spec_id


@pytest.mark.parametrize("spec", LAYER_SPECS, ids=spec_id)
def test_layer_keeps_the_contract(spec, rng):
    layer = build_layer(spec)
    out_shape = layer.build(input_shape(spec), rng, np.float64)
    x = sample_input(spec, rng, 3)
    y = layer.forward(x, training=True)
    assert y.shape == (3, *out_shape)
    grads_before = dict(layer.grads)
    dx = layer.backward(np.ones_like(y))
    assert dx.shape == x.shape
    assert {k: g.shape for k, g in layer.grads.items()} == {k: p.shape for k, p in layer.params.items()}
    assert all(layer.grads[k] is g for k, g in grads_before.items())  # overwritten in place, not rebound
    first = {k: g.copy() for k, g in layer.grads.items()}
    layer.backward(np.ones_like(y))
    for k, g in layer.grads.items():  # a second backward overwrites: it never accumulates
        np.testing.assert_array_equal(g, first[k])
    assert layer.forward(x, training=False).shape == y.shape


def test_every_registered_layer_has_a_spec():
    assert {s["type"] for s in LAYER_SPECS} == set(LAYERS)
    assert set(LAYERS) == specs.layer_type_names()


def test_the_name_tables_equal_the_names_the_config_accepts():
    assert set(ACTIVATIONS) == set(specs.ACTIVATION_NAMES)
    assert set(INITIALIZERS) == set(specs.INIT_NAMES)


def test_a_layer_can_be_built_from_a_pydantic_spec_or_a_dict():
    from_model = build_layer(specs.DenseSpec(type="dense", units=3, activation="relu"))
    from_dict = build_layer({"type": "dense", "units": 3, "activation": "relu"})
    assert isinstance(from_model, Dense) and isinstance(from_dict, Dense)
    assert (from_model.units, from_model.activation) == (from_dict.units, from_dict.activation) == (3, "relu")


def test_a_residual_spec_builds_its_inner_layers():
    (block,) = build_layers([{"type": "residual", "layers": [{"type": "dense", "units": 2}, {"type": "tanh"}]}])
    assert [type(layer).__name__ for layer in block.layers] == ["Dense", "Tanh"]


def _config_error(layer_specs) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        build_layers(layer_specs)
    return info.value


@pytest.mark.parametrize(
    "entry, where, suggestion",
    [
        ({"type": "desne", "units": 3}, "model.layers.1.type", "did you mean 'dense'?"),
        ({"type": "dense", "units": 3, "activation": "rleu"}, "model.layers.1.activation", "did you mean 'relu'?"),
        ({"type": "dense", "units": 3, "init": "he_norml"}, "model.layers.1.init", "did you mean 'he_normal'?"),
        ({"type": "dense", "units": 3, "activaton": "relu"}, "model.layers.1.activaton", "did you mean 'activation'?"),
        ({"type": "dropout", "rat": 0.5}, "model.layers.1.rat", "did you mean 'rate'?"),
    ],
)
def test_a_misspelt_name_is_a_config_error_with_a_suggestion(entry, where, suggestion):
    err = _config_error([{"type": "relu"}, entry])
    assert err.where == where
    assert err.fix == suggestion
    assert where in str(err) and suggestion in str(err)


def test_a_name_far_from_every_choice_lists_the_choices():
    err = _config_error([{"type": "dense", "units": 3, "activation": "swishy_thing"}])
    assert "choose one of" in err.fix and "relu" in err.fix


@pytest.mark.parametrize(
    "entry, where, message",
    [
        ({"type": "dense", "units": -4}, "model.layers.2.units", "must be > 0 (got -4)"),
        ({"type": "dense", "units": 0}, "model.layers.2.units", "must be > 0 (got 0)"),
        ({"type": "dense", "units": "64"}, "model.layers.2.units", "must be a whole number (got '64')"),
        ({"type": "dense"}, "model.layers.2.units", "is required"),
        ({"type": "dropout", "rate": 1.0}, "model.layers.2.rate", "must be < 1 (got 1.0)"),
        ({"type": "dropout", "rate": -0.1}, "model.layers.2.rate", "must be >= 0 (got -0.1)"),
        ({"type": "leaky_relu", "alpha": 1.5}, "model.layers.2.alpha", "must be < 1 (got 1.5)"),
        ({"type": "residual", "layers": []}, "model.layers.2.layers", "must have at least 1 item"),
    ],
)
def test_a_bad_value_is_a_config_error_at_its_key_path(entry, where, message):
    err = _config_error([{"type": "relu"}, {"type": "tanh"}, entry])
    assert err.where == where
    assert message in err.what


def test_a_bad_value_inside_a_residual_block_names_the_nested_key_path():
    err = _config_error([{"type": "residual", "layers": [{"type": "tanh"}, {"type": "dense", "units": -1}]}])
    assert err.where == "model.layers.0.layers.1.units"
    assert "must be > 0 (got -1)" in err.what


def test_a_layer_without_a_type_or_not_a_mapping_is_a_config_error():
    assert _config_error([{"units": 3}]).where == "model.layers.0"
    assert "mapping" in _config_error(["dense"]).what


def test_lookup_returns_the_entry_or_raises_with_a_did_you_mean():
    assert lookup({"adam": 1, "sgd": 2}, "optimizer", "adam", "optimizer.type") == 1
    with pytest.raises(ConfigError, match="did you mean 'adam'"):
        lookup({"adam": 1, "sgd": 2}, "optimizer", "adma", "optimizer.type")


def test_validation_gives_one_message_naming_each_problem_with_its_key_path():
    data = {"type": "dense", "units": -4, "init_scale": -1.0}
    with pytest.raises(ConfigError) as info:
        validate(specs.DenseSpec, data, prefix="model.layers.3")
    err = info.value
    assert err.where == "model.layers.3.units"
    assert "model.layers.3.units: must be > 0 (got -4)" in err.what
    assert "model.layers.3.init_scale: must be >= 0 (got -1.0)" in err.what


def _resolved(spec: dict) -> dict:
    """What a checkpoint stores: the validated spec dumped with every default filled in."""
    from backprop_cli.nn.registry import validate_layer_spec

    return validate_layer_spec(spec).model_dump(mode="json")


@pytest.mark.parametrize("spec", LAYER_SPECS, ids=spec_id)
def test_a_resolved_spec_builds_the_same_layer_without_validation(spec):
    validated, resolved = build_layer(spec), build_layer(_resolved(spec), resolved=True)
    shapes = [layer.build(input_shape(spec), np.random.default_rng(3), np.float32) for layer in (validated, resolved)]
    assert type(validated) is type(resolved) and shapes[0] == shapes[1]
    assert validated.params.keys() == resolved.params.keys()
    for key, value in validated.params.items():
        np.testing.assert_array_equal(resolved.params[key], value)
    x = sample_input(spec, np.random.default_rng(4), 3).astype(np.float32)
    np.testing.assert_array_equal(resolved.forward(x, training=False), validated.forward(x, training=False))


def test_a_resolved_spec_with_an_unknown_type_is_still_a_config_error():
    with pytest.raises(ConfigError, match="unknown layer type 'dense2'"):
        build_layer({"type": "dense2", "units": 3}, resolved=True)
