"""Name -> class tables for optimizers and schedules, and building them from config specs or plain dicts.

The keys are the `type` names of optim/specs.py (a test holds the tables equal). A dict is validated
by its pydantic spec; a miss or an invalid field is a ConfigError at `optimizer.<field>` or
`schedule.<field>`, with a did-you-mean for a misspelt type (backprop_cli/config/validation.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from backprop_cli.config.validation import lookup, suggest, validate
from backprop_cli.errors import ConfigError
from backprop_cli.nn.specs import Spec
from backprop_cli.optim import specs
from backprop_cli.optim.adam import Adam, AdamW
from backprop_cli.optim.adaptive import Adagrad, RMSprop
from backprop_cli.optim.base import Optimizer
from backprop_cli.optim.schedules import (
    Constant,
    Cosine,
    Exponential,
    OneCycle,
    Plateau,
    Schedule,
    StepDecay,
)
from backprop_cli.optim.sgd import SGD, Momentum, Nesterov

OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
}
SCHEDULES: dict[str, type[Schedule]] = {
    "constant": Constant,
    "step": StepDecay,
    "exponential": Exponential,
    "cosine": Cosine,
    "warmup_cosine": Cosine,  # an alias: its spec sets warmup_epochs 1 by default
    "one_cycle": OneCycle,
    "plateau": Plateau,
}


def spec_types(spec_classes: Sequence[type[Spec]]) -> dict[str, type[Spec]]:
    """Every `type:` the spec classes accept -> the class that accepts it."""
    return {name: cls for cls in spec_classes for name in cls.model_fields["type"].annotation.__args__}


_OPTIMIZER_SPECS = spec_types(specs.OPTIMIZER_SPECS)
_SCHEDULE_SPECS = spec_types(specs.SCHEDULE_SPECS)


def build_optimizer(spec: Spec | Mapping[str, Any], *, decay_params: list[np.ndarray] | None = None) -> Optimizer:
    """The optimizer a spec describes (its `lr` is the schedule's base rate, passed at each step).

    `decay_params`: views of the parameters that decoupled weight decay applies to (the model's
    `flat_weights`); used by adamw, ignored by the others. None: adamw decays every parameter.
    """
    spec = _validated(spec, OPTIMIZERS, _OPTIMIZER_SPECS, "optimizer")
    optimizer = OPTIMIZERS[spec.type](**spec.model_dump(exclude={"type", "lr"}))
    if isinstance(optimizer, AdamW):
        optimizer.decay_params = decay_params
    return optimizer


def build_schedule(spec: Spec | Mapping[str, Any], base_lr: float, epochs: int, steps_per_epoch: int) -> Schedule:
    """The schedule a spec describes, around the optimizer's `lr`, for `epochs` of `steps_per_epoch` steps."""
    spec = _validated(spec, SCHEDULES, _SCHEDULE_SPECS, "schedule")
    return SCHEDULES[spec.type](base_lr, epochs, steps_per_epoch, **spec.model_dump(exclude={"type"}))


def _validated(spec: Spec | Mapping[str, Any], table: Mapping[str, type], by_type: dict, root: str) -> Any:
    """A validated pydantic spec: passed through as it is, or made from a plain dict."""
    if isinstance(spec, Spec):
        lookup(table, root, getattr(spec, "type", None), f"{root}.type")
        return spec
    if not isinstance(spec, Mapping):
        raise ConfigError(f"must be a mapping with a `type:` (got {type(spec).__name__})", where=root)
    if "type" not in spec:
        raise ConfigError(f"the {root} needs a `type:`", where=f"{root}.type", fix=suggest("", table))
    lookup(table, root, spec["type"], f"{root}.type")  # a miss raises, with a did-you-mean
    return validate(by_type[spec["type"]], dict(spec), prefix=root)
