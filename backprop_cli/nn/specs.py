"""Config models of the layers: what a `model.layers` entry may say, validated strictly.

Each spec's `type` is its registry name (nn/registry.py); `tests/nn/test_registry.py` holds the two
tables equal, so that no layer can be registered without a spec or the other way round.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ACTIVATION_NAMES = ("relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "softmax", "linear")
INIT_NAMES = (
    "zeros",
    "constant",
    "normal",
    "uniform",
    "xavier_uniform",
    "xavier_normal",
    "he_uniform",
    "he_normal",
    "lecun_normal",
    "orthogonal",
)
ActivationName = Literal[ACTIVATION_NAMES]  # type: ignore[valid-type]
InitName = Literal[INIT_NAMES]  # type: ignore[valid-type]

MAX_UNITS = 1_000_000
MAX_PADDING = 1024


class Spec(BaseModel):
    """Strict: no type coercion, no unknown keys, no NaN or inf."""

    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)


MAX_GIVEN_VALUES = 100_000  # initial values written out in a config are for small, textbook layers


class WeightValues(Spec):
    """`init: {values: [[...], ...]}`: W written out, one row per input (W has shape (inputs, units))."""

    values: list[list[float]] = Field(min_length=1, max_length=MAX_GIVEN_VALUES)

    @field_validator("values")
    @classmethod
    def _a_matrix(cls, rows):
        if len({len(row) for row in rows}) != 1 or sum(map(len, rows)) > MAX_GIVEN_VALUES:
            raise ValueError(f"must be rows of equal length, at most {MAX_GIVEN_VALUES} numbers in all")
        return rows


class BiasValues(Spec):
    """`bias_init: {values: [...]}`: b written out, one number per unit."""

    values: list[float] = Field(min_length=1, max_length=MAX_GIVEN_VALUES)


class DenseSpec(Spec):
    type: Literal["dense"]
    units: int = Field(gt=0, le=MAX_UNITS)
    activation: ActivationName | None = None
    init: InitName | WeightValues | None = None  # None: he_normal after the relu family, xavier_uniform otherwise
    init_scale: float = Field(0.05, ge=0, le=1e3)  # std of `normal`, limit of `uniform`, value of `constant`
    use_bias: bool = True
    bias_init: BiasValues | None = None  # None: zeros
    per_step: bool = False  # sequences (C, L) -> (units, L): the same W at every step

    @field_validator("init", mode="before")
    @classmethod
    def _values_in_one_message(cls, value):
        """A mapping is {values: ...}: validated here, so that a mistake reads as one message, not one per
        member of the union (a name or values)."""
        if not isinstance(value, Mapping):
            return value
        from backprop_cli.config.validation import to_config_error

        try:
            return WeightValues.model_validate(value)
        except ValidationError as exc:
            raise ValueError(to_config_error(exc, WeightValues, value).what) from None


class ActivationSpec(Spec):
    type: Literal["relu", "gelu", "sigmoid", "tanh", "softmax", "linear"]


class LeakyReluSpec(Spec):
    type: Literal["leaky_relu"]
    alpha: float = Field(0.01, ge=0, lt=1)


class EluSpec(Spec):
    type: Literal["elu"]
    alpha: float = Field(1.0, gt=0, le=100)


class DropoutSpec(Spec):
    type: Literal["dropout"]
    rate: float = Field(ge=0, lt=1)


class BatchNormSpec(Spec):
    type: Literal["batchnorm"]
    momentum: float = Field(0.9, ge=0, lt=1)  # running = momentum * running + (1 - momentum) * batch
    eps: float = Field(1e-5, gt=0, le=1)


class FlattenSpec(Spec):
    type: Literal["flatten"]


class Conv2DSpec(Spec):
    type: Literal["conv2d"]
    filters: int = Field(gt=0, le=4096)  # output channels
    kernel_size: int = Field(gt=0, le=31)  # square kernels: k x k
    stride: int = Field(1, gt=0, le=1024)
    padding: Annotated[int, Field(ge=0, le=MAX_PADDING)] | Literal["same"] = 0  # "same": OH = ceil(H / stride)
    activation: ActivationName | None = None
    init: InitName | None = None  # None: he_normal after the relu family, xavier_uniform otherwise
    init_scale: float = Field(0.05, ge=0, le=1e3)
    use_bias: bool = True

    @field_validator("padding", mode="before")
    @classmethod
    def _one_message_for_padding(cls, value):
        """One clear message, rather than one per member of the union."""
        if value == "same" or (type(value) is int and 0 <= value <= MAX_PADDING):
            return value
        shown = str(value).lower() if isinstance(value, bool) else repr(value)  # as YAML wrote it
        raise ValueError(f"must be a whole number from 0 to {MAX_PADDING}, or 'same' (got {shown})")

    @field_validator("activation")
    @classmethod
    def _no_softmax_over_image_width(cls, value):
        if value == "softmax":  # it normalizes over the last axis, which is an image's width here
            raise ValueError("softmax is not an activation for conv2d; end with flatten and a dense layer")
        return value


class Pool2DSpec(Spec):
    type: Literal["maxpool2d", "avgpool2d"]
    pool_size: int = Field(2, gt=0, le=1024)
    stride: int | None = Field(None, gt=0, le=1024)  # None: pool_size, windows that do not overlap


class EmbeddingSpec(Spec):
    type: Literal["embedding"]
    dim: int = Field(gt=0, le=65536)
    vocab_size: int | None = Field(None, gt=0, le=1 << 22)  # None: the data's vocabulary
    init_scale: float = Field(0.02, gt=0, le=1e3)  # std of the N(0, s^2) rows


class PositionalSpec(Spec):
    type: Literal["positional"]
    kind: Literal["learned", "sinusoidal"] = "learned"
    max_length: int | None = Field(None, gt=0, le=1 << 20)  # None: the input's length (the data's context)
    init_scale: float = Field(0.02, gt=0, le=1e3)  # learned: std of the N(0, s^2) table


class LayerNormSpec(Spec):
    type: Literal["layernorm"]
    eps: float = Field(1e-5, gt=0, le=1)


class AttentionSpec(Spec):
    type: Literal["attention"]
    heads: int = Field(1, gt=0, le=1024)
    causal: bool = True  # a step attends to itself and earlier steps only
    dropout: float = Field(0.0, ge=0, lt=1)  # on the attention weights, in training


class Conv1DSpec(Spec):
    type: Literal["conv1d"]
    filters: int = Field(gt=0, le=4096)  # output channels
    kernel_size: int = Field(gt=0, le=1024)  # taps per window
    stride: int = Field(1, gt=0, le=1024)
    padding: Annotated[int, Field(ge=0, le=MAX_PADDING)] | Literal["same"] = 0  # "same": OL = ceil(L / stride)
    dilation: int = Field(1, gt=0, le=1024)  # steps between the taps of a window
    activation: ActivationName | None = None
    init: InitName | None = None  # None: he_normal after the relu family, xavier_uniform otherwise
    init_scale: float = Field(0.05, ge=0, le=1e3)
    use_bias: bool = True

    @field_validator("padding", mode="before")
    @classmethod
    def _one_message_for_padding(cls, value):
        return Conv2DSpec._one_message_for_padding(value)  # the same rule and message as conv2d

    @field_validator("activation")
    @classmethod
    def _no_softmax_over_steps(cls, value):
        if value == "softmax":  # it would normalize over the steps, the last axis
            raise ValueError("softmax is not an activation for conv1d; end with global_avgpool or flatten and dense")
        return value


class Pool1DSpec(Spec):
    type: Literal["maxpool1d", "avgpool1d"]
    pool_size: int = Field(2, gt=0, le=1024)
    stride: int | None = Field(None, gt=0, le=1024)  # None: pool_size, windows that do not overlap


class GlobalPoolSpec(Spec):
    type: Literal["global_avgpool", "global_maxpool"]


class ReshapeSpec(Spec):
    type: Literal["reshape"]
    shape: list[Annotated[int, Field(ge=-1, le=MAX_UNITS)]] = Field(min_length=1, max_length=4)  # per example; one -1


class RecurrentSpec(Spec):
    """lstm and gru; rnn adds its activation."""

    type: Literal["lstm", "gru"]
    units: int = Field(gt=0, le=65536)
    return_sequences: bool = False  # True: (units, L), every step's state; False: (units,), the last
    bidirectional: bool = False  # a second pass from the last step to the first; outputs concatenated
    init: InitName | None = None  # the input weights W; None: xavier_uniform
    recurrent_init: InitName = "orthogonal"  # the recurrent weights U, each gate's (units, units) block
    init_scale: float = Field(0.05, ge=0, le=1e3)


class RNNSpec(RecurrentSpec):
    type: Literal["rnn"]  # type: ignore[assignment]
    activation: Literal["tanh", "relu"] = "tanh"


class PluginSpec(Spec):
    """The user's own layer: a subclass of backprop_cli.Layer in a Python file (docs/your-own-layer.md)."""

    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True, validate_by_alias=True)
    type: Literal["plugin"]
    path: str = Field(min_length=1, max_length=4096)  # the .py file, relative to the config file's folder
    class_: str = Field(alias="class", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=200)  # the class in it
    args: dict[str, Any] = {}  # the class's constructor arguments, checked against its signature
    sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")  # the file's SHA-256, filled in on loading


class ResidualSpec(Spec):
    type: Literal["residual"]
    layers: list[LayerSpec] = Field(min_length=1)


SPEC_CLASSES: tuple[type[Spec], ...] = (
    DenseSpec,
    ActivationSpec,
    LeakyReluSpec,
    EluSpec,
    DropoutSpec,
    BatchNormSpec,
    FlattenSpec,
    Conv2DSpec,
    Pool2DSpec,
    ResidualSpec,
    EmbeddingSpec,
    PositionalSpec,
    LayerNormSpec,
    AttentionSpec,
    Conv1DSpec,
    Pool1DSpec,
    GlobalPoolSpec,
    ReshapeSpec,
    RecurrentSpec,
    RNNSpec,
    PluginSpec,
)
LayerSpec = Annotated[Union[SPEC_CLASSES], Field(discriminator="type")]  # one entry of `model.layers`
ResidualSpec.model_rebuild()


def layer_type_names() -> set[str]:
    """Every `type:` a spec accepts."""
    names: set[str] = set()
    for cls in SPEC_CLASSES:
        names.update(cls.model_fields["type"].annotation.__args__)
    return names
