"""Every config of a sweep or a cross-validation, built and validated before the first run starts.

A trial's config is the base config with the trial's parameters applied exactly as `--set` applies
them; an error names the trial, its parameters and the sweep file's line of the parameter at fault.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from backprop_cli.config.load import LoadedConfig, build_config
from backprop_cli.config.schema import Config
from backprop_cli.config.yamlsafe import YamlDoc, read_yaml_file
from backprop_cli.errors import ConfigError
from backprop_cli.many.spec import LoadedSweep


def as_override(key: str, value: Any) -> str:
    """`key=value` as --set takes it: the value written as one line of YAML (floats keep every digit)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=2**31, allow_unicode=True)
    return f"{key}={text.rstrip().removesuffix(chr(10) + '...')}"


def describe(params: dict[str, Any]) -> str:
    """ "optimizer.lr=0.01 model.layers.0.units=64": a trial's parameters in one line."""
    return " ".join(as_override(k, v) for k, v in params.items())


def trial_configs(sweep: LoadedSweep, trials: list[dict[str, Any]]) -> list[Config]:
    """The config of each trial, all validated (and checked against a built-in dataset's shape) first."""
    base = read_yaml_file(sweep.base)
    return [_trial_config(sweep, base, i, params) for i, params in enumerate(trials)]


def _trial_config(sweep: LoadedSweep, base: YamlDoc, i: int, params: dict[str, Any]) -> Config:
    doc = YamlDoc(copy.deepcopy(base.data), base.lines, base.source)  # build_config writes into the data
    overrides = [as_override(k, v) for k, v in params.items()]
    label = f"trial {i} ({describe(params)})"
    try:
        loaded = build_config(doc, overrides)
        check_runnable(loaded, sweep.spec.metric)
    except ConfigError as err:
        raise _placed(err, sweep, params, label) from None
    return loaded.config


def check_runnable(loaded: LoadedConfig, metric: str | None = None) -> None:
    """What `config validate` checks beyond the schema, and that the run will report `metric`."""
    config = loaded.config
    _admit_plugins(loaded)
    if metric and metric.startswith("val_") and config.data.validation_split == 0:
        raise loaded.locate(
            ConfigError(
                f"is 0, so no run reports {metric}",
                where="data.validation_split",
                fix=f"set a validation split, or rank by train_{metric[4:]} or test_{metric[4:]}",
            )
        )
    if config.data.dataset is None:
        return
    from backprop_cli.data.builtin import lookup
    from backprop_cli.train.setup import builtin_input_shape, check_model_fits

    if metric and metric.endswith("accuracy") and lookup(config.data.dataset).task == "regression":
        raise loaded.locate(
            ConfigError(f"{config.data.dataset} is a regression dataset: no run reports {metric}", where="data.dataset")
        )
    try:
        check_model_fits(config, builtin_input_shape(config.data.dataset))
    except ConfigError as err:
        raise loaded.locate(err) from None


def _admit_plugins(loaded: LoadedConfig) -> None:
    """A user's plugin layer is proved (train's own pre-flight, gradcheck included) before any run exists."""
    from backprop_cli.nn.plugin import plugin_specs
    from backprop_cli.train.preflight import preflight

    if plugin_specs(loaded.config.model.layers):
        try:
            preflight(loaded.config)
        except ConfigError as err:
            raise loaded.locate(err) from None


def _placed(err: ConfigError, sweep: LoadedSweep, params: dict[str, Any], label: str) -> ConfigError:
    """An error that a parameter caused points at that parameter's line in the sweep file."""
    where = err.where or ""
    for key in params:
        if where.startswith(f"--set {key}="):
            return ConfigError(f"{label}: {err.what}", where=sweep.where_parameter(key), fix=err.fix)
    return ConfigError(f"{label}: {err.what}", where=err.where, fix=err.fix)


def fold_config(config: Config, folds: int, fold: int) -> Config:
    """The same experiment with fold `fold` of `folds` held out as its test split (data.folds, data.fold)."""
    data = config.data.model_copy(update={"folds": folds, "fold": fold})
    return config.model_copy(update={"data": data})
