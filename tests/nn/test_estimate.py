"""Every registered layer's estimate is its build: the same parameter count, output shape and refusals.

One table for the whole registry (tests/nn/layer_specs.py), so no layer type can skip it; the estimate is
what the pre-flight, `config validate`, sweeps and the memory check trust before anything is allocated.
"""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.errors import ConfigError
from backprop_cli.nn.base import Layer
from backprop_cli.nn.model import estimate_model
from backprop_cli.nn.registry import LAYERS, build_layer, spec_of, validate_layer_spec

from .layer_specs import LAYER_SPECS, input_shape, spec_id

SHAPES = [(5,), (6,), (4, 6), (1, 6), (2, 5, 6), (3, 2, 2)]  # vectors, ids, sequences, images, tiny ones


def _built(spec: dict, shape: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
    layer = build_layer(spec)
    out = layer.build(shape, np.random.default_rng(0), np.float32)
    parts = [layer, *(part for _, part in _parts(layer))]
    return sum(p.size for part in parts for p in part.params.values()), tuple(out)


def _parts(layer: Layer):
    for key, child in layer.children():
        yield key, child
        yield from _parts(child)


@pytest.mark.parametrize("spec", LAYER_SPECS, ids=spec_id)
def test_the_estimate_is_what_build_allocates_and_returns(spec):
    shape = input_shape(spec)
    validated = LAYERS[spec["type"]].estimate(validate_layer_spec(spec), shape)
    resolved = validate_layer_spec(spec).model_dump(mode="json")  # as a checkpoint keeps it
    assert validated == _built(spec, shape)
    assert estimate_model([resolved], shape, resolved=True) == validated


@pytest.mark.parametrize("spec", LAYER_SPECS, ids=spec_id)
def test_the_estimate_refuses_exactly_the_inputs_build_refuses_with_the_same_message(spec):
    for shape in SHAPES:
        try:
            expected = ("ok", _built(spec, shape))
        except ConfigError as err:
            expected = ("refused", err.what)
        try:
            got = ("ok", LAYERS[spec["type"]].estimate(validate_layer_spec(spec), shape))
        except ConfigError as err:
            got = ("refused", err.what)
        assert got == expected, shape


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_every_layer_type_declares_its_estimate_or_that_it_keeps_its_shape(name):
    cls = LAYERS[name]
    owner = next(c for c in cls.__mro__ if "estimate" in vars(c))
    assert (owner is not Layer) != cls.keeps_shape, f"{name}: define estimate() or keeps_shape = True, not both"


def test_a_layer_that_declares_neither_has_no_silent_default():
    class Forgetful(Layer):
        pass

    with pytest.raises(NotImplementedError, match="neither estimate"):
        Forgetful.estimate(None, (3,))


def test_a_shape_preserving_layer_without_parameters_says_so_in_one_attribute():
    assert LAYERS["relu"].estimate(spec_of({"type": "relu"}), (2, 3)) == (0, (2, 3))
    assert LAYERS["dropout"].estimate(spec_of({"type": "dropout", "rate": 0.5}), (7,)) == (0, (7,))
