"""The mapping of PyTorch state-dict names onto our layers, without PyTorch: names and shapes only."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.errors import UserError
from backprop_cli.interop.torch_map import map_state_dict, torch_modules
from backprop_cli.nn.model import build_model
from backprop_cli.nn.registry import LAYERS


def test_modules_are_ordered_by_their_names_read_as_numbers():
    names = ["10.weight", "2.bias", "2.weight", "features.10.weight", "features.9.weight", "2.num_batches_tracked"]
    order = [prefix for prefix, _ in torch_modules(dict.fromkeys(names, np.zeros(1)))]
    assert order == ["2", "10", "features.9", "features.10"]


def test_twelve_dense_layers_map_in_order_past_ten(rng):
    specs = [{"type": "dense", "units": 3 + i} for i in range(12)]
    model = build_model(specs, (2,), rng, np.float64)
    tensors, fan_in = {}, 2
    for i in range(12):  # nn.Sequential(Linear, Linear, ...): "0.weight" ... "11.weight", saved sorted as text
        tensors[f"{i}.weight"] = rng.normal(size=(3 + i, fan_in))
        tensors[f"{i}.bias"] = rng.normal(size=3 + i)
        fan_in = 3 + i
    mapped = map_state_dict(model, dict(sorted(tensors.items())), "w.safetensors")
    for i in range(12):
        np.testing.assert_array_equal(mapped[f"{i}.W"], tensors[f"{i}.weight"].T)
        np.testing.assert_array_equal(mapped[f"{i}.b"], tensors[f"{i}.bias"])


def test_a_missing_bias_is_named_with_the_module(rng):
    model = build_model([{"type": "dense", "units": 3}], (2,), rng, np.float64)
    with pytest.raises(UserError, match=r"module '0' has tensors \['weight'\], but layer model.0 \(dense\) needs"):
        map_state_dict(model, {"0.weight": np.zeros((3, 2))}, "w.safetensors")


def test_a_layer_type_without_a_mapping_is_named(rng, monkeypatch):
    from backprop_cli.interop import torch_map

    monkeypatch.delitem(torch_map.ROLES, "batchnorm")
    model = build_model([{"type": "batchnorm"}], (2,), rng, np.float64)
    with pytest.raises(UserError, match=r"layer model.0 \(batchnorm\) has no PyTorch weight mapping yet"):
        map_state_dict(model, {"0.weight": np.ones(2), "0.bias": np.zeros(2)}, "w.safetensors")


@pytest.mark.skipif(not {"embedding", "layernorm"} <= set(LAYERS), reason="the language layers are not in this tree")
def test_embedding_and_layernorm_take_pytorchs_tensors_as_they_are(rng):
    model = build_model([{"type": "embedding", "dim": 4, "vocab_size": 9}, {"type": "layernorm"}], (5,), rng)
    tensors = {"emb.weight": rng.normal(size=(9, 4)), "norm.weight": rng.normal(size=4)}
    tensors["norm.bias"] = rng.normal(size=4)
    mapped = map_state_dict(model, tensors, "w.safetensors")  # "emb" before "norm": the layers' order
    assert {k: v.tolist() for k, v in mapped.items()} == {
        "0.W": tensors["emb.weight"].tolist(), "1.gamma": tensors["norm.weight"].tolist(),
        "1.beta": tensors["norm.bias"].tolist()}  # fmt: skip
