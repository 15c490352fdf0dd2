"""Config models of the optimizers and learning-rate schedules (`optimizer:` and `schedule:`).

Each `type` is a registry name (optim/registry.py); a test holds the spec and registry tables equal.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field

from backprop_cli.metric_names import SKEWED
from backprop_cli.nn.specs import Spec

LearningRate = Annotated[float, Field(gt=0, le=1e12)]  # huge on purpose: users watch divergence
Beta = Annotated[float, Field(ge=0, lt=1)]
Eps = Annotated[float, Field(gt=0, le=1)]


class SGDSpec(Spec):
    type: Literal["sgd"]
    lr: LearningRate = 0.01


class MomentumSpec(Spec):
    type: Literal["momentum", "nesterov"]
    lr: LearningRate = 0.01
    momentum: Beta = 0.9


class AdagradSpec(Spec):
    type: Literal["adagrad"]
    lr: LearningRate = 0.01
    eps: Eps = 1e-8


class RMSpropSpec(Spec):
    type: Literal["rmsprop"]
    lr: LearningRate = 0.001
    rho: Beta = 0.9
    eps: Eps = 1e-8


class AdamSpec(Spec):
    type: Literal["adam"]
    lr: LearningRate = 0.001
    beta1: Beta = 0.9
    beta2: Beta = 0.999
    eps: Eps = 1e-8


class AdamWSpec(AdamSpec):
    type: Literal["adamw"]  # type: ignore[assignment]
    weight_decay: float = Field(0.01, ge=0, le=10)


OptimizerSpec = Annotated[
    Union[SGDSpec, MomentumSpec, AdagradSpec, RMSpropSpec, AdamSpec, AdamWSpec], Field(discriminator="type")
]
OPTIMIZER_SPECS = (SGDSpec, MomentumSpec, AdagradSpec, RMSpropSpec, AdamSpec, AdamWSpec)


class ConstantSpec(Spec):
    type: Literal["constant"]


class StepSpec(Spec):
    type: Literal["step"]
    step_size: int = Field(10, gt=0, le=1_000_000)  # epochs between decays
    gamma: float = Field(0.1, gt=0, le=1)


class ExponentialSpec(Spec):
    type: Literal["exponential"]
    gamma: float = Field(0.95, gt=0, le=1)  # per epoch


class CosineSpec(Spec):
    type: Literal["cosine"]
    min_lr: float = Field(0.0, ge=0, le=1e6)  # reached at the last step of the last epoch


class WarmupCosineSpec(Spec):
    type: Literal["warmup_cosine"]
    warmup_epochs: float = Field(1.0, ge=0, le=1_000_000)  # linear ramp from 0, then cosine
    min_lr: float = Field(0.0, ge=0, le=1e6)


PLATEAU_MONITORS = ("val_loss", "train_loss", "val_accuracy", "train_accuracy", *(f"val_{kind}" for kind in SKEWED))


class PlateauSpec(Spec):
    type: Literal["plateau"]
    monitor: Literal[PLATEAU_MONITORS] = "val_loss"  # type: ignore[valid-type]
    factor: float = Field(0.1, gt=0, lt=1)
    patience: int = Field(5, ge=0, le=1_000_000)
    min_delta: float = Field(0.0, ge=0, le=1e6)
    min_lr: float = Field(0.0, ge=0, le=1e6)


ScheduleSpec = Annotated[
    Union[ConstantSpec, StepSpec, ExponentialSpec, CosineSpec, WarmupCosineSpec, PlateauSpec],
    Field(discriminator="type"),
]
SCHEDULE_SPECS = (ConstantSpec, StepSpec, ExponentialSpec, CosineSpec, WarmupCosineSpec, PlateauSpec)
