"""One config entry per registered layer type: the tables the contract and gradient tests run over."""

from __future__ import annotations

LAYER_SPECS = [
    {"type": "dense", "units": 4, "activation": "tanh"},
    {"type": "relu"},
    {"type": "leaky_relu", "alpha": 0.1},
    {"type": "elu", "alpha": 0.7},
    {"type": "gelu"},
    {"type": "sigmoid"},
    {"type": "tanh"},
    {"type": "softmax"},
    {"type": "linear"},
    {"type": "dropout", "rate": 0.5},
    {"type": "batchnorm"},
    {"type": "flatten"},
    {
        "type": "residual",
        "layers": [{"type": "dense", "units": 5, "activation": "relu"}, {"type": "dense", "units": 5}],
    },
]


def spec_id(spec: dict) -> str:
    return spec["type"]
