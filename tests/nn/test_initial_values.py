"""Initial values written in the config (`init: {values: ...}`, `bias_init: {values: ...}`) for a textbook's numbers."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.errors import ConfigError
from backprop_cli.nn.registry import build_layer, validate_layer_spec

SPEC = {"type": "dense", "units": 2, "activation": "sigmoid",
        "init": {"values": [[0.15, 0.25], [0.2, 0.3]]}, "bias_init": {"values": [0.35, 0.35]}}  # fmt: skip


@pytest.mark.parametrize("resolved", [False, True], ids=["validated", "from a checkpoint's resolved config"])
def test_the_written_values_become_the_parameters_in_the_training_dtype(resolved):
    spec = validate_layer_spec(SPEC).model_dump(mode="json") if resolved else SPEC
    layer = build_layer(spec, resolved=resolved)
    layer.build((2,), np.random.default_rng(0), np.float32)
    assert layer.params["W"].dtype == np.float32
    np.testing.assert_array_equal(layer.params["W"], np.array([[0.15, 0.25], [0.2, 0.3]], dtype=np.float32))
    np.testing.assert_array_equal(layer.params["b"], np.array([0.35, 0.35], dtype=np.float32))


def test_building_for_inputs_of_another_size_is_a_config_error_with_both_shapes():
    layer = build_layer(SPEC)
    with pytest.raises(
        ConfigError, match=r"init.values has shape \(2, 2\), but W of this dense layer has shape \(3, 2\)"
    ):
        layer.build((3,), np.random.default_rng(0), np.float64)


def test_a_name_still_works_and_a_misspelt_one_gets_a_suggestion():
    assert build_layer({"type": "dense", "units": 2, "init": "zeros"}).init == "zeros"
    with pytest.raises(ConfigError, match="did you mean 'he_normal'"):
        build_layer({"type": "dense", "units": 2, "init": "he_norml"})
