"""Name -> class: every layer type, one line each; and building layers from their config specs.

A spec is a layer's pydantic model (its `Spec`, beside its class) or a plain dict. The config's union of
layer specs is assembled here from the table. Validation (pydantic) runs only where a dict is validated:
a checkpoint's resolved, checksummed config is read with its specs' defaults but never validated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Union

from pydantic import Field

from backprop_cli.config.names import a_or_an, lookup, suggest
from backprop_cli.config.spec import Spec
from backprop_cli.errors import ConfigError
from backprop_cli.nn.attention.attention import Attention
from backprop_cli.nn.attention.embedding import Embedding
from backprop_cli.nn.attention.positional import Positional
from backprop_cli.nn.base import Layer, Shape
from backprop_cli.nn.conv.conv1d import Conv1D
from backprop_cli.nn.conv.conv2d import Conv2D
from backprop_cli.nn.core.activations import ACTIVATIONS
from backprop_cli.nn.core.dense import Dense
from backprop_cli.nn.core.dropout import Dropout
from backprop_cli.nn.core.residual import Residual, ResidualSpec
from backprop_cli.nn.initializers import INITIALIZERS
from backprop_cli.nn.normalization.batchnorm import BatchNorm
from backprop_cli.nn.normalization.groupnorm import GroupNorm
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

__all__ = ["LAYERS", "LayerSpec", "build_layer", "build_layers", "layer_name", "lookup", "spec_of"]

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
    "groupnorm": GroupNorm,
    "plugin": Plugin,  # the user's own layer, from a file the user names
}

SPEC_CLASSES: tuple[type[Spec], ...] = tuple(dict.fromkeys(cls.Spec for cls in LAYERS.values()))
LayerSpec = Annotated[Union[SPEC_CLASSES], Field(discriminator="type")]  # one entry of `model.layers`


# A residual's `layers` are this union: resolved here, so that no spec class is ever left half-built (a
# spec read from a checkpoint, dumped before its schema existed, failed inside pydantic's serializer).
ResidualSpec.model_rebuild(_types_namespace={"LayerSpec": LayerSpec})


def layer_spec_union():
    """LayerSpec, ready to validate (every layer's spec is complete once this module is imported)."""
    return LayerSpec


def layer_name(layer: Layer) -> str:
    """The registry name of a layer's class ("dense"; a per-step dense too), else its class name."""
    for cls in type(layer).__mro__:
        for name, registered in LAYERS.items():
            if cls is registered:
                return name
    return type(layer).__name__


def _check_names(data: Any, key_path: str) -> None:
    """Names first, with did-you-mean: the layer type, its keys, its activation and init (recursively)."""
    if not isinstance(data, Mapping):
        raise ConfigError("a layer must be a mapping", where=key_path, fix="write it as {type: dense, units: 64}")
    if "type" not in data:
        raise ConfigError("a layer needs a `type:` key", where=key_path, fix=suggest("", LAYERS))
    kind = data["type"]
    model_fields = lookup(LAYERS, "layer type", kind, f"{key_path}.type").Spec.model_fields
    fields = [field.alias or name for name, field in model_fields.items()]  # as YAML spells them (`class`)
    for key in data:
        if key not in fields:
            where = f"{key_path}.{key}"
            raise ConfigError(f"{a_or_an(kind)} layer has no key {key!r}", where=where, fix=suggest(str(key), fields))
    if data.get("activation") is not None:
        lookup(ACTIVATIONS, "activation", data["activation"], f"{key_path}.activation")
    if data.get("init") is not None and not (kind == "dense" and isinstance(data["init"], Mapping)):
        lookup(INITIALIZERS, "initializer", data["init"], f"{key_path}.init")  # a mapping: {values: ...}
    if isinstance(data.get("layers"), list):  # a container's parts
        for i, inner in enumerate(data["layers"]):
            _check_names(inner, f"{key_path}.layers.{i}")


def validate_layer_spec(data: Any, key_path: str = "layer") -> Spec:
    """A plain dict (e.g. from YAML) -> its pydantic spec; any problem is a ConfigError at its key path."""
    from backprop_cli.config.validation import validate

    if isinstance(data, Spec):
        return data
    _check_names(data, key_path)
    return validate(layer_spec_union(), data, prefix=key_path)


def spec_of(data: Any, key_path: str = "layer", resolved: bool = False) -> Spec:
    """The spec of one layer: validated from a dict, or, `resolved`, a dict that is a dumped, validated spec
    (a checkpoint's config under its checksum) read as it is, with its spec's defaults for keys it lacks."""
    if not resolved or isinstance(data, Spec):
        return validate_layer_spec(data, key_path)
    if not isinstance(data, Mapping):
        raise ConfigError("a layer must be a mapping", where=key_path)
    cls = lookup(LAYERS, "layer type", data.get("type"), f"{key_path}.type")  # an unknown type: the usual message
    fields = dict(data)
    if isinstance(fields.get("layers"), list):
        fields["layers"] = [spec_of(inner, f"{key_path}.layers.{i}", True) for i, inner in enumerate(fields["layers"])]
    return cls.Spec.model_construct(**fields)


def build_layer(spec: Any, key_path: str = "layer", resolved: bool = False) -> Layer:
    """An unbuilt layer from its spec (see spec_of); a container's parts are built first."""
    spec = spec_of(spec, key_path, resolved)
    fields = {name: getattr(spec, name) for name in type(spec).model_fields if name != "type"}
    if "layers" in fields:
        fields["layers"] = build_layers(fields["layers"], f"{key_path}.layers", resolved)
    return LAYERS[spec.type].from_config(**fields)


def build_layers(layer_specs: Sequence, key_path: str = "model.layers", resolved: bool = False) -> list[Layer]:
    """Unbuilt layers from a list of specs; errors name `<key_path>.<i>`."""
    return [build_layer(spec, f"{key_path}.{i}", resolved) for i, spec in enumerate(layer_specs)]


def estimate_layers(specs: Sequence[Spec], input_shape: Shape) -> tuple[int, Shape]:
    """(parameter count, output shape) of validated specs in sequence, from each layer class's estimate."""
    total, shape = 0, tuple(input_shape)
    for spec in specs:
        count, shape = LAYERS[spec.type].estimate(spec, shape)
        total += count
    return total, tuple(shape)


def reads_sequences(layer_specs: Sequence) -> bool:
    """Whether a model's first layer reads sequences (C, L): then an (N, C, L) data file keeps its shape."""
    if not layer_specs:
        return False
    first = layer_specs[0]
    kind = first.get("type") if isinstance(first, Mapping) else first.type
    return kind in LAYERS and LAYERS[kind].reads_sequences
