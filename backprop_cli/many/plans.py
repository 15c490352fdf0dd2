"""From a sweep file or a config and K to a study on disk, every config validated before the first run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from backprop_cli.config.load import LoadedConfig
from backprop_cli.many.configs import check_runnable, trial_configs
from backprop_cli.many.expand import expand
from backprop_cli.many.results import mean_std
from backprop_cli.many.spec import LoadedSweep
from backprop_cli.many.study import Plan, create_study


def new_sweep(sweep: LoadedSweep, runs_dir: str | Path | None, threads: int, on_count=None) -> Path:
    """Expand the trials, validate every trial's config, then create the sweep directory and its runs.
    `on_count(n)`: told the number of trials before their configs are checked."""
    spec = sweep.spec
    trials = expand(spec)
    if on_count is not None:
        on_count(len(trials))
    configs = trial_configs(sweep, trials)  # raises on the first bad combination, before anything exists
    plan = Plan(
        kind="sweep",
        metric=spec.metric,
        mode=spec.resolved_mode,
        folds=spec.cv,
        threads=threads,
        trials=[{"trial": i, "parameters": params} for i, params in enumerate(trials)],
    )
    resolved = {**spec.model_dump(mode="json"), "base": str(sweep.base), "name": sweep.name}
    resolved["mode"] = spec.resolved_mode
    text = yaml.safe_dump(resolved, sort_keys=False, default_flow_style=None, width=100, allow_unicode=True)
    return create_study(runs_dir or configs[0].output.runs_dir, sweep.name, plan, configs, {"sweep.yaml": text})


def new_cv(loaded: LoadedConfig, folds: int, runs_dir: str | Path | None, threads: int) -> Path:
    """A cross-validation of one config: K runs, fold j held out as run j's test split."""
    check_runnable(loaded, folds=folds)  # train's pre-flight on every fold's config, before anything is made
    config = loaded.config
    # the figure on the progress lines (the report gives every metric's mean and std)
    metric, mode = ("test_loss", "min") if _task(config) == "regression" else ("test_accuracy", "max")
    plan = Plan(kind="cv", metric=metric, mode=mode, folds=folds, threads=threads, trials=[])
    plan.trials = [{"trial": 0, "parameters": {}}]
    return create_study(runs_dir or config.output.runs_dir, config.name, plan, [config], {})


def cv_report(row: dict[str, Any]) -> dict[str, Any]:
    """{"folds": [...], "mean": {...}, "std": {...}} from a cross-validation's one trial row."""
    folds = [{"fold": j, **fold} for j, fold in enumerate(row.get("folds") or [])]
    mean, std = mean_std(row.get("folds") or [])
    return {"status": row["status"], "folds": folds, "mean": mean, "std": std}


def _task(config) -> str:
    if config.data.task != "auto" or config.data.dataset is None:
        return config.data.task
    from backprop_cli.data.builtin import lookup

    return lookup(config.data.dataset).task
