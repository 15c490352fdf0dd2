"""Config models of the optimizers and learning-rate schedules (`optimizer:` and `schedule:`).

Each `type` is a registry name (optim/registry.py); a test holds the spec and registry tables equal.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

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


class WarmupKeys(Spec):
    """A linear warmup in front of the schedule: `warmup_epochs` (may be fractional) or `warmup_steps`."""

    warmup_epochs: float | None = Field(None, ge=0, le=1_000_000)  # a linear ramp over these epochs first
    warmup_steps: int | None = Field(None, ge=0, le=1_000_000_000)  # or over these optimizer steps

    @model_validator(mode="after")
    def _one_warmup(self):
        if self.warmup_epochs is not None and self.warmup_steps is not None:
            raise ValueError("give `warmup_epochs` or `warmup_steps`, not both")
        return self


class ConstantSpec(WarmupKeys):
    """lr throughout (after the warmup, if any)."""

    type: Literal["constant"]


class StepSpec(WarmupKeys):
    """lr·gamma^⌊epoch / step_size⌋."""

    type: Literal["step"]
    step_size: int = Field(10, gt=0, le=1_000_000)  # epochs between decays
    gamma: float = Field(0.1, gt=0, le=1)


class ExponentialSpec(WarmupKeys):
    """lr·gamma^epoch."""

    type: Literal["exponential"]
    gamma: float = Field(0.95, gt=0, le=1)  # per epoch


class CosineSpec(WarmupKeys):
    """Half a cosine per step, from lr after the warmup to min_lr at the last step."""

    type: Literal["cosine"]
    min_lr: float = Field(0.0, ge=0, le=1e6)  # reached at the last step of the last epoch


class WarmupCosineSpec(CosineSpec):
    """`warmup_cosine`, kept as an alias: cosine with a warmup of one epoch unless told otherwise."""

    type: Literal["warmup_cosine"]  # type: ignore[assignment]

    @model_validator(mode="after")
    def _one_epoch_by_default(self):
        if self.warmup_epochs is None and self.warmup_steps is None:
            self.warmup_epochs = 1.0
        return self


class OneCycleSpec(Spec):
    """PyTorch's OneCycleLR: up to max_lr over pct_start of the steps, then down, half a cosine each."""

    type: Literal["one_cycle"]
    max_lr: float | None = Field(None, gt=0, le=1e12)  # the peak; default: the optimizer's lr
    pct_start: float = Field(0.3, gt=0, lt=1)  # the share of the run spent rising to max_lr
    div_factor: float = Field(25.0, ge=1, le=1e6)  # starts at max_lr / div_factor
    final_div_factor: float = Field(1e4, ge=1, le=1e12)  # ends at the start rate / final_div_factor


class PlateauSpec(WarmupKeys):
    """lr·factor after each `patience` epochs without improvement of `monitor`, never below min_lr."""

    type: Literal["plateau"]
    monitor: Literal["val_loss", "train_loss", "val_accuracy", "train_accuracy"] = "val_loss"
    factor: float = Field(0.1, gt=0, lt=1)
    patience: int = Field(5, ge=0, le=1_000_000)
    min_delta: float = Field(0.0, ge=0, le=1e6)
    min_lr: float = Field(0.0, ge=0, le=1e6)


ScheduleSpec = Annotated[
    Union[ConstantSpec, StepSpec, ExponentialSpec, CosineSpec, WarmupCosineSpec, OneCycleSpec, PlateauSpec],
    Field(discriminator="type"),
]
SCHEDULE_SPECS = (ConstantSpec, StepSpec, ExponentialSpec, CosineSpec, WarmupCosineSpec, OneCycleSpec, PlateauSpec)
