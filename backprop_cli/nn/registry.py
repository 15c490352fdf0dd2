"""Name -> class tables, and building layers from their config specs (pydantic models or plain dicts).

The specs (pydantic) are imported only where a dict is validated: a checkpoint's resolved, checksummed
config builds its layers without them, so that `backprop predict` starts without loading pydantic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from backprop_cli.config.names import lookup, suggest
from backprop_cli.errors import ConfigError
from backprop_cli.nn.attention.attention import Attention
from backprop_cli.nn.attention.embedding import Embedding
from backprop_cli.nn.attention.positional import Positional
from backprop_cli.nn.base import Layer
from backprop_cli.nn.conv.conv1d import Conv1D
from backprop_cli.nn.conv.conv2d import Conv2D
from backprop_cli.nn.core.activations import ACTIVATIONS
from backprop_cli.nn.core.dense import Dense
from backprop_cli.nn.core.dropout import Dropout
from backprop_cli.nn.core.residual import Residual
from backprop_cli.nn.initializers import INITIALIZERS
from backprop_cli.nn.normalization.batchnorm import BatchNorm
from backprop_cli.nn.normalization.layernorm import LayerNorm
from backprop_cli.nn.plugin import Plugin
from backprop_cli.nn.pooling.global_pool import GlobalAvgPool, GlobalMaxPool
from backprop_cli.nn.pooling.pool1d import AvgPool1D, MaxPool1D
from backprop_cli.nn.pooling.pool2d import AvgPool2D, MaxPool2D
from backprop_cli.nn.recurrent.gru import GRU
from backprop_cli.nn.recurrent.lstm import LSTM
from backprop_cli.nn.recurrent.rnn import SimpleRNN
from backprop_cli.nn.reshaping.flatten import Flatten
from backprop_cli.nn.reshaping.reshape import Reshape

__all__ = ["LAYERS", "build_layer", "build_layers", "layer_name", "lookup"]

LAYERS: dict[str, type[Layer]] = {
    "dense": Dense,
    **ACTIVATIONS,  # every activation is also a layer of its own
    "dropout": Dropout,
    "batchnorm": BatchNorm,
    "flatten": Flatten,
    "conv2d": Conv2D,
    "maxpool2d": MaxPool2D,
    "avgpool2d": AvgPool2D,
    "residual": Residual,
    "embedding": Embedding,
    "positional": Positional,
    "layernorm": LayerNorm,
    "attention": Attention,
    "conv1d": Conv1D,
    "maxpool1d": MaxPool1D,
    "avgpool1d": AvgPool1D,
    "global_avgpool": GlobalAvgPool,
    "global_maxpool": GlobalMaxPool,
    "reshape": Reshape,
    "rnn": SimpleRNN,
    "lstm": LSTM,
    "gru": GRU,
    "plugin": Plugin,  # the user's own layer, from a file the user names
}


def layer_name(layer: Layer) -> str:
    """The registry name of a layer's class ("dense"), or the class name for a layer built by hand."""
    for name, cls in LAYERS.items():
        if type(layer) is cls:
            return name
    return type(layer).__name__


def _check_names(data: Any, key_path: str) -> None:
    """Names first, with did-you-mean: the layer type, its keys, its activation and init (recursively)."""
    if not isinstance(data, Mapping):
        raise ConfigError("a layer must be a mapping", where=key_path, fix="write it as {type: dense, units: 64}")
    if "type" not in data:
        raise ConfigError("a layer needs a `type:` key", where=key_path, fix=suggest("", LAYERS))
    kind = data["type"]
    lookup(LAYERS, "layer type", kind, f"{key_path}.type")
    model_fields = _spec_class(kind).model_fields
    fields = [field.alias or name for name, field in model_fields.items()]  # as YAML spells them (`class`)
    for key in data:
        if key not in fields:
            where = f"{key_path}.{key}"
            raise ConfigError(f"a {kind} layer has no key {key!r}", where=where, fix=suggest(str(key), fields))
    if data.get("activation") is not None:
        lookup(ACTIVATIONS, "activation", data["activation"], f"{key_path}.activation")
    if data.get("init") is not None and not (kind == "dense" and isinstance(data["init"], Mapping)):
        lookup(INITIALIZERS, "initializer", data["init"], f"{key_path}.init")  # a mapping: {values: ...}
    if kind == "residual" and isinstance(data.get("layers"), list):
        for i, inner in enumerate(data["layers"]):
            _check_names(inner, f"{key_path}.layers.{i}")


def _spec_class(kind: str):
    from backprop_cli.nn import specs

    return next(cls for cls in specs.SPEC_CLASSES if kind in cls.model_fields["type"].annotation.__args__)


def validate_layer_spec(data: Any, key_path: str = "layer"):
    """A plain dict (e.g. from YAML) -> its pydantic spec; any problem is a ConfigError at its key path."""
    from backprop_cli.config.validation import validate
    from backprop_cli.nn import specs

    if isinstance(data, specs.Spec):
        return data
    _check_names(data, key_path)
    return validate(specs.LayerSpec, data, prefix=key_path)


def _constructor_args(spec: Any, key_path: str, resolved: bool) -> tuple[str, dict[str, Any]]:
    """(type, keyword arguments) of a layer spec; a resolved dict is taken as it is, anything else validated."""
    if resolved and isinstance(spec, Mapping):
        lookup(LAYERS, "layer type", spec.get("type"), f"{key_path}.type")  # an unknown type: the usual message
        return spec["type"], {name: value for name, value in spec.items() if name != "type"}
    spec = validate_layer_spec(spec, key_path)
    return spec.type, {name: getattr(spec, name) for name in type(spec).model_fields if name != "type"}


def build_layer(spec: Any, key_path: str = "layer", resolved: bool = False) -> Layer:
    """An unbuilt layer from its spec: the spec's fields (all but `type`) are the constructor's arguments.

    `resolved=True` trusts a dict that is a dumped, already validated spec with every key present (the
    config inside a checksummed checkpoint): no pydantic is loaded for it.
    """
    kind, kwargs = _constructor_args(spec, key_path, resolved)
    if "layers" in kwargs:  # a container: build its parts first
        kwargs["layers"] = build_layers(kwargs["layers"], f"{key_path}.layers", resolved)
    return LAYERS[kind](**kwargs)


def build_layers(layer_specs: Sequence, key_path: str = "model.layers", resolved: bool = False) -> list[Layer]:
    """Unbuilt layers from a list of specs; errors name `<key_path>.<i>`."""
    return [build_layer(spec, f"{key_path}.{i}", resolved) for i, spec in enumerate(layer_specs)]
