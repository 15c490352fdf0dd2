"""One config entry per registered layer type: the tables the contract and gradient tests run over."""

from __future__ import annotations

from pathlib import Path

from backprop_cli.nn.plugin_source import provide_file

PLUGIN_FILE = Path(__file__).parent / "plugins" / "learned_swish.py"
provide_file(PLUGIN_FILE, where="tests")  # as loading a config that names it does

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
    {"type": "conv2d", "filters": 3, "kernel_size": 3, "padding": 1, "activation": "tanh"},
    {"type": "maxpool2d"},
    {"type": "avgpool2d", "pool_size": 3, "stride": 1},
    {
        "type": "residual",
        "layers": [{"type": "dense", "units": 5, "activation": "relu"}, {"type": "dense", "units": 5}],
    },
    {
        "type": "conv1d",
        "filters": 3,
        "kernel_size": 3,
        "stride": 2,
        "padding": "same",
        "dilation": 2,
        "activation": "tanh",
    },
    {"type": "maxpool1d", "pool_size": 3, "stride": 2},
    {"type": "avgpool1d"},
    {"type": "global_avgpool"},
    {"type": "global_maxpool"},
    {"type": "reshape", "shape": [5, -1]},
    {"type": "rnn", "units": 3, "return_sequences": True},
    {"type": "lstm", "units": 3, "bidirectional": True},
    {"type": "gru", "units": 3, "return_sequences": True, "bidirectional": True},
    {"type": "embedding", "dim": 4, "vocab_size": 7},
    {"type": "positional", "kind": "learned"},
    {"type": "positional", "kind": "sinusoidal"},
    {"type": "layernorm"},
    {"type": "attention", "heads": 2},
    {"type": "attention", "heads": 1, "causal": False},
    {"type": "dense", "units": 3, "activation": "gelu", "per_step": True},
    {"type": "plugin", "path": str(PLUGIN_FILE), "class": "LearnedSwish", "args": {"beta": 1.5}},
]


IMAGE_LAYERS = {"conv2d", "maxpool2d", "avgpool2d"}


ATTENTION_LAYERS = {"positional", "layernorm", "attention"}  # (C, L) inputs; dense too with per_step
VOCAB = 7  # the embedding entry's vocab_size


def spec_id(spec: dict) -> str:
    extras = [f"{key}={spec[key]}" for key in ("kind", "heads", "causal", "per_step") if key in spec]
    return "-".join([spec["type"], *extras])


SEQUENCE_LAYERS = {"conv1d", "maxpool1d", "avgpool1d", "global_avgpool", "global_maxpool", "rnn", "lstm", "gru"}


def input_shape(spec: dict) -> tuple[int, ...]:
    """Per-example input of a spec's layer: images (C, H, W) for the image layers, sequences (C, L) for the
    sequence layers, token ids (L,) for the embedding, else vectors."""
    if spec["type"] in SEQUENCE_LAYERS:
        return (2, 7)
    if spec["type"] in ATTENTION_LAYERS or spec.get("per_step"):
        return (4, 5)
    if spec["type"] == "embedding":
        return (6,)  # token ids of 6 steps
    return (2, 5, 6) if spec["type"] in IMAGE_LAYERS else (5,)


def sample_input(spec: dict, rng, n: int):
    """n examples for the spec's layer: token ids for an embedding (repeats certain), else standard normals."""
    if spec["type"] == "embedding":
        return rng.integers(0, VOCAB, size=(n, *input_shape(spec))).astype(float)
    return rng.standard_normal((n, *input_shape(spec)))
