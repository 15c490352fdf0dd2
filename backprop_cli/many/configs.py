"""Every config of a sweep or a cross-validation, built and put through train's pre-flight before anything is made.

A trial's config is the base config with `sweep --set`'s overrides, then the trial's parameters,
applied exactly as `--set` applies them; an error names the trial, its parameters and the sweep
file's line of the parameter at fault (or the --set, which is the same in every trial).
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from backprop_cli.config.load import LoadedConfig, build_config
from backprop_cli.config.schema import Config
from backprop_cli.config.yamlsafe import YamlDoc, read_yaml_file
from backprop_cli.errors import ConfigError, DataError
from backprop_cli.many.spec import LoadedSweep
from backprop_cli.train.preflight import Preflight, preflight


def as_override(key: str, value: Any) -> str:
    """`key=value` as --set takes it: the value written as one line of YAML (floats keep every digit)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=2**31, allow_unicode=True)
    return f"{key}={text.rstrip().removesuffix(chr(10) + '...')}"


def describe(params: dict[str, Any]) -> str:
    """ "optimizer.lr=0.01 model.layers.0.units=64": a trial's parameters in one line."""
    return " ".join(as_override(k, v) for k, v in params.items())


def trial_configs(sweep: LoadedSweep, trials: list[dict[str, Any]]) -> list[Config]:
    """The config of each trial, each distinct one (and each of its folds) through train's own pre-flight."""
    base, checks = read_yaml_file(sweep.base), Checks()
    return [_trial_config(sweep, base, i, params, checks) for i, params in enumerate(trials)]


def _trial_config(sweep: LoadedSweep, base: YamlDoc, i: int, params: dict[str, Any], checks: Checks) -> Config:
    doc = YamlDoc(copy.deepcopy(base.data), base.lines, base.source)  # build_config writes into the data
    overrides = [*sweep.overrides, *(as_override(k, v) for k, v in params.items())]
    label = f"trial {i} ({describe(params)})"
    try:
        loaded = build_config(doc, overrides)
        check_runnable(loaded, sweep.spec.metric, sweep.spec.cv, checks)
    except ConfigError as err:
        raise _placed(err, sweep, params, label) from None
    return loaded.config


class Checks:
    """train's pre-flight for the configs of a study, each distinct config once (a sweep repeats the data
    section in every trial: its data are probed once per distinct data section)."""

    def __init__(self) -> None:
        self.done: dict[str, Preflight] = {}
        self.probes: dict = {}

    def preflight(self, config: Config) -> Preflight:
        key = config.model_dump_json()
        if key not in self.done:
            self.done[key] = preflight(config, self.probes)
        return self.done[key]


def check_runnable(
    loaded: LoadedConfig, metric: str | None = None, folds: int | None = None, checks: Checks | None = None
) -> None:
    """train's own pre-flight on the config (on each of its `folds` configs, with cross-validation), and that
    the run will report `metric`; an error is placed at the config's line, or at --folds."""
    config, checks = loaded.config, checks or Checks()
    if metric and metric.startswith("val_") and config.data.validation_split == 0:
        raise loaded.locate(
            ConfigError(
                f"is 0, so no run reports {metric}",
                where="data.validation_split",
                fix=f"set a validation split, or rank by train_{metric[4:]} or test_{metric[4:]}",
            )
        )
    try:
        checked = checks.preflight(config)
        for j in range(folds or 0):
            checks.preflight(fold_config(config, folds, j))
    except ConfigError as err:
        raise loaded.locate(err) from None
    except DataError as err:
        raise _fold_error(err, folds) if folds else err from None
    if metric and metric.endswith("accuracy") and checked.facts.task == "regression":
        raise loaded.locate(ConfigError(f"the data are a regression: no run reports {metric}", where="data"))


def _fold_error(err: DataError, folds: int) -> DataError:
    """A data error that only the folds cause names them (cross-validation's --folds, or the sweep's cv)."""
    if "folds need" not in err.what:
        return err
    return DataError(err.what, where=err.where, fix=f"use fewer folds than {folds} (--folds, or cv: in a sweep)")


def _placed(err: ConfigError, sweep: LoadedSweep, params: dict[str, Any], label: str) -> ConfigError:
    """An error that a parameter caused points at that parameter's line in the sweep file."""
    where = err.where or ""
    if any(where == f"--set {item}" for item in sweep.overrides):
        return err  # the --set is at fault, the same in every trial
    for key in params:
        if where.startswith(f"--set {key}="):
            return ConfigError(f"{label}: {err.what}", where=sweep.where_parameter(key), fix=err.fix)
    return ConfigError(f"{label}: {err.what}", where=err.where, fix=err.fix)


def fold_config(config: Config, folds: int, fold: int) -> Config:
    """The same experiment with fold `fold` of `folds` held out as its test split (data.folds, data.fold)."""
    data = config.data.model_copy(update={"folds": folds, "fold": fold})
    return config.model_copy(update={"data": data})
