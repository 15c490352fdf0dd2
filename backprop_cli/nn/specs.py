"""Config models of the layers: what a `model.layers` entry may say, validated strictly.

Each spec's `type` is its registry name (nn/registry.py); `tests/nn/test_registry.py` holds the two
tables equal, so that no layer can be registered without a spec or the other way round.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

ACTIVATION_NAMES = ("relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "softmax", "linear")
INIT_NAMES = (
    "zeros", "constant", "normal", "uniform", "xavier_uniform", "xavier_normal",
    "he_uniform", "he_normal", "lecun_normal",
)
ActivationName = Literal[ACTIVATION_NAMES]  # type: ignore[valid-type]
InitName = Literal[INIT_NAMES]  # type: ignore[valid-type]

MAX_UNITS = 1_000_000


class Spec(BaseModel):
    """Strict: no type coercion, no unknown keys, no NaN or inf."""

    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)


class DenseSpec(Spec):
    type: Literal["dense"]
    units: int = Field(gt=0, le=MAX_UNITS)
    activation: ActivationName | None = None
    init: InitName | None = None  # None: he_normal after the relu family, xavier_uniform otherwise
    init_scale: float = Field(0.05, ge=0, le=1e3)  # std of `normal`, limit of `uniform`, value of `constant`
    use_bias: bool = True


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


class ResidualSpec(Spec):
    type: Literal["residual"]
    layers: list[LayerSpec] = Field(min_length=1)


LayerSpec = Annotated[
    Union[DenseSpec, ActivationSpec, LeakyReluSpec, EluSpec, DropoutSpec, BatchNormSpec, FlattenSpec, ResidualSpec],
    Field(discriminator="type"),
]
ResidualSpec.model_rebuild()

SPEC_CLASSES: tuple[type[Spec], ...] = (
    DenseSpec, ActivationSpec, LeakyReluSpec, EluSpec, DropoutSpec, BatchNormSpec, FlattenSpec, ResidualSpec,
)


def layer_type_names() -> set[str]:
    """Every `type:` a spec accepts."""
    names: set[str] = set()
    for cls in SPEC_CLASSES:
        names.update(cls.model_fields["type"].annotation.__args__)
    return names
