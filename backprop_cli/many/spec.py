"""A sweep file: base config, search method, parameters and the metric to rank by, validated like a config.

base: iris.yaml                      # relative to the sweep file
method: grid                         # grid | random | tpe (then `trials` and `seed`)
parameters:
  optimizer.lr: [0.001, 0.01, 0.1]   # dotted keys, as --set takes them -> values
  model.layers.0.units: {distribution: int_uniform, low: 8, high: 64}   # random and tpe only
metric: val_accuracy                 # any metric in summary.json
mode: max                            # max | min (auto: max for accuracies and AUCs, min for losses)
cv: 5                                # optional: rank by the mean over K cross-validation folds
repeats: 3                           # optional: each configuration with seeds s, s+1, s+2, ranked by the mean
schedule: {type: successive_halving, min_epochs: 1, max_epochs: 27, reduction_factor: 3}   # optional
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from backprop_cli.config.load import default_name
from backprop_cli.config.spec import Spec
from backprop_cli.config.validation import validate
from backprop_cli.config.yamlsafe import YamlDoc, read_yaml_file
from backprop_cli.errors import ConfigError
from backprop_cli.metric_names import SKEWED, maximised

# The metrics a run's summary.json holds: per epoch (train_*, val_*) and on the test split (test_*).
PLAIN = tuple(f"{split}_{kind}" for split in ("val", "train", "test") for kind in ("accuracy", "loss"))
METRICS = PLAIN + tuple(f"{split}_{kind}" for split in ("val", "test") for kind in SKEWED)  # and for skewed classes
MAX_TRIALS = 10_000


class Distribution(Spec):
    """Where random search draws a parameter from; `high` is included for int_uniform."""

    distribution: Literal["uniform", "log_uniform", "int_uniform", "choice"]
    low: float | None = None
    high: float | None = None
    values: list[Any] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _complete(self) -> Distribution:
        if self.distribution == "choice":
            if self.values is None or self.low is not None or self.high is not None:
                raise ValueError("choice takes `values: [...]` (and no low/high)")
            return self
        if self.low is None or self.high is None or self.values is not None:
            raise ValueError(f"{self.distribution} takes `low` and `high` (and no values)")
        if not self.low < self.high:
            raise ValueError(f"low must be < high (got low={self.low}, high={self.high})")
        if self.distribution == "log_uniform" and self.low <= 0:
            raise ValueError(f"log_uniform needs low > 0 (got {self.low})")
        if self.distribution == "int_uniform" and not (float(self.low).is_integer() and float(self.high).is_integer()):
            raise ValueError("int_uniform takes whole numbers for low and high")
        return self


class HalvingSchedule(Spec):
    """Successive halving: every trial trains `min_epochs`, the best 1/reduction_factor go on to
    min_epochs x reduction_factor, and so on up to `max_epochs` (Jamieson & Talwalkar 2016; Li et al. 2020)."""

    type: Literal["successive_halving", "asha"]
    min_epochs: int = Field(ge=1, le=100_000)
    max_epochs: int = Field(ge=1, le=100_000)
    reduction_factor: int = Field(3, ge=2, le=100)

    @model_validator(mode="after")
    def _rising(self) -> HalvingSchedule:
        if not self.min_epochs < self.max_epochs:
            raise ValueError(
                f"min_epochs ({self.min_epochs}) must be below max_epochs ({self.max_epochs}): "
                "a rung is a cut between them"
            )
        return self


class SweepSpec(Spec):
    base: str = Field(min_length=1)
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    method: Literal["grid", "random", "tpe"] = "grid"
    trials: int | None = Field(None, gt=0, le=MAX_TRIALS)
    seed: int = Field(0, ge=0, le=2**32 - 1)
    parameters: dict[str, Any] = Field(min_length=1, max_length=100)  # each: a list, or a Distribution
    metric: Literal[METRICS] = "val_loss"  # type: ignore[valid-type]
    mode: Literal["auto", "max", "min"] = "auto"
    cv: int | None = Field(None, ge=2, le=100)
    repeats: int | None = Field(None, ge=1, le=100)
    schedule: HalvingSchedule | None = None
    batch: int | None = Field(None, ge=1, le=1024)  # tpe: trials asked at once (default: the workers)

    def grid_size(self) -> int:
        return math.prod(len(v) for v in self.parameters.values() if isinstance(v, list))

    @property
    def resolved_mode(self) -> str:
        if self.mode != "auto":
            return self.mode
        return "max" if maximised(self.metric) else "min"


class LoadedSweep:
    """A validated sweep spec, the base config's absolute path, the YAML lines for later errors, and the
    `--set` overrides applied to the base config of every trial (before the trial's own parameters)."""

    def __init__(self, spec: SweepSpec, doc: YamlDoc, path: Path, overrides: list[str] | tuple[str, ...] = ()):
        self.spec, self.doc, self.path = spec, doc, path
        self.base = (path.parent / spec.base).resolve()
        self.name = spec.name or default_name(str(path))
        self.overrides = list(overrides)

    def where_parameter(self, key: str) -> str:
        return self.doc.where(("parameters", key))


def load_sweep(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> LoadedSweep:
    """Read and validate a sweep file, and the `--set` overrides of its trials' base config; every problem
    a ConfigError naming the line and key path (or the --set)."""
    doc = read_yaml_file(path)
    if not isinstance(doc.data, dict):
        raise ConfigError(
            "a sweep file is a mapping with `base`, `parameters` and `metric`",
            where=doc.where(()),
            fix="see the sweep example in the README",
        )
    spec = validate(SweepSpec, doc.data, where=doc.where)
    for key, value in spec.parameters.items():
        spec.parameters[key] = _parameter(key, value, spec.method, doc)
    _check_method(spec, doc)
    loaded = LoadedSweep(spec, doc, Path(path), overrides)
    if not loaded.base.is_file():
        raise ConfigError(
            f"base config {spec.base!r} not found (looked for {loaded.base})",
            where=doc.where(("base",)),
            fix="give the config's path relative to the sweep file",
        )
    if loaded.base == Path(path).resolve():
        raise ConfigError(
            "base: points at this sweep file itself",
            where=doc.where(("base",)),
            fix="point base at the experiment config to vary, e.g. base: ../iris.yaml",
        )
    _check_overrides(loaded)
    return loaded


def _check_overrides(sweep: LoadedSweep) -> None:
    """A --set that a trial's parameter (or the halving schedule) would overwrite is refused, not ignored."""
    for item in sweep.overrides:
        key = item.partition("=")[0].strip()
        for parameter in sweep.spec.parameters:
            if key == parameter or key.startswith(f"{parameter}."):
                raise ConfigError(
                    f"sets {key}, which the sweep's parameter {parameter} sets in every trial",
                    where=f"--set {item}",
                    fix=f"drop the --set, or take {parameter} out of the sweep's parameters",
                )
        if key == "training.epochs" and sweep.spec.schedule is not None:
            raise ConfigError(
                "a successive-halving sweep trains every trial up to its schedule's max_epochs",
                where=f"--set {item}",
                fix="set schedule.max_epochs (and min_epochs) in the sweep file instead",
            )


SHORT_FORMS = ("uniform", "log_uniform", "int_uniform", "choice")  # {log_uniform: [1e-4, 1e-1]}, {choice: [...]}


def _parameter(key: str, value: Any, method: str, doc: YamlDoc) -> list[Any] | Distribution:
    path = ("parameters", key)
    if isinstance(value, list) and value:
        return value
    if isinstance(value, dict) and method != "grid":
        return validate(Distribution, _long_form(value), prefix=path, where=doc.where)
    what = "a non-empty list of values" + (" or a distribution" if method != "grid" else "")
    fix = (
        "for example {distribution: log_uniform, low: 0.0001, high: 0.1}, or {log_uniform: [0.0001, 0.1]}"
        if method != "grid"
        else "a grid takes a list, for example [0.001, 0.01]; distributions need method: random or tpe"
    )
    raise ConfigError(f"parameters.{key}: must be {what}", where=doc.where(path), fix=fix)


def _long_form(value: dict) -> dict:
    """{log_uniform: [L, H]} -> {distribution: log_uniform, low: L, high: H}; {choice: [...]} -> values."""
    if len(value) != 1 or next(iter(value)) not in SHORT_FORMS:
        return value
    ((kind, args),) = value.items()
    if kind == "choice":
        return {"distribution": kind, "values": args}
    if isinstance(args, list) and len(args) == 2:
        return {"distribution": kind, "low": args[0], "high": args[1]}
    return {"distribution": kind, "low": args}  # reported as: high is missing


def _check_method(spec: SweepSpec, doc: YamlDoc) -> None:
    if spec.method != "grid" and spec.trials is None:
        search = "random search" if spec.method == "random" else "tpe"
        raise ConfigError(f"{search} needs `trials: N`", where=doc.where(("method",)), fix="add trials: 20")
    if spec.method == "grid" and spec.trials is not None:
        raise ConfigError(
            "`trials` applies to method: random or tpe; a grid runs every combination",
            where=doc.where(("trials",)),
            fix="remove trials, or set method: random",
        )
    if spec.method == "grid" and spec.grid_size() > MAX_TRIALS:
        raise ConfigError(
            f"the grid has {spec.grid_size():,} combinations; the limit is {MAX_TRIALS:,}",
            where=doc.where(("parameters",)),
            fix="use fewer values, or method: random with trials",
        )
    if spec.batch is not None and spec.method != "tpe":
        raise ConfigError(
            "`batch` applies to method: tpe (how many trials are asked at once)",
            where=doc.where(("batch",)),
            fix="remove batch",
        )
    if spec.cv is not None and spec.repeats is not None:
        raise ConfigError(
            "give `cv` or `repeats`, not both: each already ranks a configuration by a mean over runs",
            where=doc.where(("repeats",)),
            fix="remove one of them",
        )
    if spec.method == "tpe":
        _check_tpe_choices(spec, doc)
    if spec.schedule is not None:
        _check_schedule(spec, doc)


def _check_tpe_choices(spec: SweepSpec, doc: YamlDoc) -> None:
    """Optuna's categorical distribution takes numbers, strings and booleans, each choice of one type."""
    for key, space in spec.parameters.items():
        values = space if isinstance(space, list) else space.values
        if values is None:
            continue
        kinds = {type(v).__name__ for v in values}
        if len(kinds) > 1 or not kinds <= {"int", "float", "str", "bool"}:
            raise ConfigError(
                f"parameters.{key}: tpe takes a choice of one scalar type; this one mixes {', '.join(sorted(kinds))}",
                where=doc.where(("parameters", key)),
                fix="write every value the same way (e.g. all strings, or all numbers: 1.0 rather than 1), "
                "or use method: random",
            )


def _check_schedule(spec: SweepSpec, doc: YamlDoc) -> None:
    where = doc.where(("schedule",))
    if spec.method == "tpe":
        raise ConfigError(
            "a schedule applies to method: grid or random (tpe chooses each trial from the finished ones)",
            where=where,
            fix="remove schedule, or use method: random",
        )
    if spec.metric.startswith("test_"):
        raise ConfigError(
            f"metric: successive halving compares trials at each rung by a per-epoch metric; {spec.metric} is scored "
            "only once a run has finished",
            where=doc.where(("metric",)),
            fix=f"rank by val_{spec.metric[5:]} (or train_{spec.metric[5:]})",
        )
    if "training.epochs" in spec.parameters:
        raise ConfigError(
            "parameters.training.epochs: the schedule sets every trial's epochs (its rungs up to max_epochs)",
            where=doc.where(("parameters", "training.epochs")),
            fix="remove training.epochs from the parameters",
        )
    count = spec.grid_size() if spec.method == "grid" else spec.trials or 0
    eta = spec.schedule.reduction_factor
    if count < eta:
        raise ConfigError(
            f"successive halving keeps the best 1/{eta} at each rung: it needs at least {eta} configurations, "
            f"and this {spec.method} has {count}",
            where=where,
            fix="vary more values (or draw more trials), or lower schedule.reduction_factor, or remove schedule",
        )
