"""The step-memory estimate (nn/step_memory.py) is an upper bound of what every registered layer really keeps
between its forward and its backward, measured on its arrays (teach/memory.py), and it grows as the layer does:
attention by heads·L², everything by the batch."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backprop_cli.nn.model import walk_layers
from backprop_cli.nn.registry import build_layer, validate_layer_spec
from backprop_cli.nn.step_memory import LayerStep, kept_elements, layer_steps, step_bytes
from backprop_cli.teach.memory import kept_bytes

from .layer_specs import LAYER_SPECS, input_shape, sample_input, spec_id


def measured_kept(spec: dict, n: int, rng) -> tuple[int, tuple]:
    """Bytes the layer (its parts too) holds after a float64 forward and backward of n examples."""
    layer = build_layer(spec)
    out = layer.build(input_shape(spec), rng, np.float64)
    y = layer.forward(sample_input(spec, rng, n), training=True)
    layer.backward(np.ones_like(y))
    return sum(kept_bytes([("layer", layer), *walk_layers(layer)]).values()), tuple(out)


@pytest.mark.parametrize("spec", LAYER_SPECS, ids=spec_id)
def test_the_estimate_is_at_least_what_each_layer_keeps(spec, rng):
    for n in (1, 5):
        kept, out = measured_kept(spec, n, rng)
        steps = list(layer_steps([validate_layer_spec(spec)], input_shape(spec)))
        assert steps[0].output_shape == out  # the shapes the estimate walks are the built ones
        estimate = step_bytes(steps, n, 8)
        assert estimate.kept >= kept, (estimate.kept, kept)


@pytest.mark.parametrize("heads, steps", [(1, 16), (4, 16), (4, 64), (8, 256)])
def test_attention_is_estimated_with_its_heads_times_l_squared_weights(heads, steps):
    spec = validate_layer_spec({"type": "attention", "heads": heads})
    kept = kept_elements(LayerStep("0", spec, (16, steps), (16, steps)))
    assert heads * steps**2 <= kept <= heads * steps**2 + 6 * 16 * steps
    memory = step_bytes([LayerStep("0", spec, (16, steps), (16, steps))], 32, 4)
    assert memory.transient >= 32 * 4 * 2 * heads * steps**2  # dP and dS in the backward
    assert memory.largest.key == "0" and memory.total == memory.kept + memory.transient


def test_the_estimate_of_a_step_scales_with_the_batch():
    specs = [validate_layer_spec(s) for s in ({"type": "dense", "units": 64, "activation": "relu"},
                                               {"type": "dense", "units": 3})]  # fmt: skip
    one, many = (step_bytes(layer_steps(specs, (10,)), n, 4) for n in (1, 1000))
    assert many.total == 1000 * one.total and math.prod((1000, 4)) * (10 + 64 + 3) <= many.kept
