"""Every registered layer explains itself: its own explain() and flops(), beside its forward and backward."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.nn.base import Layer
from backprop_cli.nn.registry import LAYERS, build_layer

from .layer_specs import LAYER_SPECS, input_shape, spec_id


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_every_registered_layer_class_defines_its_own_explain_and_flops(name):
    cls = LAYERS[name]
    # the text is each layer's own: an inherited explain() does not count
    assert "explain" in vars(cls), f"{name}: add explain() beside forward/backward"
    # a family may count for its members (rnn/lstm/gru share one count, parametrized per class);
    # the contract's base only declares it (it raises), so a layer outside any family must write its own
    owner = next((c for c in cls.__mro__ if "flops" in vars(c)), None)
    assert owner is not None and owner is not Layer, f"{name}: add flops(batch) beside forward/backward"


@pytest.mark.parametrize("spec", LAYER_SPECS, ids=spec_id)
def test_explain_gives_forward_and_backward_formulas_and_flops_grow_with_the_batch(spec, rng):
    layer = build_layer(spec)
    layer.build(input_shape(spec), rng, np.float64)
    text = layer.explain()
    assert set(text) == {"forward", "backward"}
    assert all(isinstance(line, str) and line for part in text.values() for line in part)
    assert text["forward"] and text["backward"]
    one, four = layer.flops(1), layer.flops(4)
    assert all(isinstance(n, int) and n >= 0 for n in (*one, *four))
    if spec["type"] in ("embedding", "positional"):  # a gather forward, or dx = dy backward: one side is free
        assert one[0] + one[1] > 0
    elif spec["type"] not in ("flatten", "reshape", "linear"):  # reshapes and the identity do no arithmetic
        assert one[0] > 0 and one[1] > 0
    for a, b in zip(one, four):
        assert a <= b <= 4 * a  # per-example terms scale with the batch, per-channel ones do not


def test_dense_flops_count_a_multiply_add_as_two(rng):
    layer = build_layer({"type": "dense", "units": 3, "activation": "relu"})
    layer.build((5,), rng, np.float64)
    n, i, o = 7, 5, 3
    assert layer.flops(n) == (2 * n * i * o + n * o + n * o, n * o + 2 * n * i * o + n * o + 2 * n * i * o)
    layer.input_grad = False  # a model's first layer: no dx
    assert layer.flops(n)[1] == n * o + 2 * n * i * o + n * o


def test_an_inner_activation_speaks_of_z_and_dz(rng):
    layer = build_layer({"type": "dense", "units": 2, "activation": "sigmoid"})
    layer.build((2,), rng, np.float64)
    text = layer.explain()
    assert text["forward"] == ["z = x·W + b", "y = σ(z) = 1 / (1 + e^−z)"]
    assert text["backward"][0].startswith("dz = dy ⊙ y ⊙ (1 − y)")
    assert text["backward"][1:] == ["dW = xᵀ·dz", "db = Σₙ dz", "dx = dz·Wᵀ"]
