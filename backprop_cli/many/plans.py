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
from backprop_cli.many.study import Plan, PlannedTrial, create_study


def new_sweep(sweep: LoadedSweep, runs_dir: str | Path | None, threads: int, on_count=None, slots: int = 1) -> Path:
    """Expand the trials, validate every trial's config, then create the sweep directory and its runs.
    `on_count(n)`: told the number of trials before their configs are checked; `slots`: the runs the
    backend runs at once (a tpe sweep's default batch)."""
    spec = sweep.spec
    trials = first_trials(sweep, slots)
    if on_count is not None:
        on_count(len(trials))
    configs = trial_configs(sweep, trials)  # raises on the first bad combination, before anything exists
    if spec.schedule is not None:  # every trial's config trains to max_epochs: its rungs pause it on the way
        configs = [with_epochs(c, spec.schedule.max_epochs) for c in configs]
    plan = Plan(
        kind="sweep",
        metric=spec.metric,
        mode=spec.resolved_mode,
        folds=spec.cv,
        repeats=spec.repeats,
        threads=threads,
        trials=[PlannedTrial(trial=i, parameters=params, runs=[]) for i, params in enumerate(trials)],
        method=spec.method,
        schedule=spec.schedule,
        batch=(spec.batch or slots) if spec.method == "tpe" else None,
        seed=spec.seed if spec.method == "tpe" else None,
        sweep=resolved_sweep(sweep),
        source=str(sweep.path.resolve()),
        overrides=sweep.overrides,
    )
    text = yaml.safe_dump(plan.sweep, sort_keys=False, default_flow_style=None, width=100, allow_unicode=True)
    return create_study(runs_dir or configs[0].output.runs_dir, sweep.name, plan, configs, {"sweep.yaml": text})


def first_trials(sweep: LoadedSweep, slots: int) -> list[dict[str, Any]]:
    """Every trial of a grid or random search; a tpe sweep's first batch (the rest are asked as it runs)."""
    spec = sweep.spec
    if spec.method == "tpe":
        from backprop_cli.many.tpe import first_batch

        return first_batch(spec, spec.batch or slots)
    return expand(spec)


def with_epochs(config, epochs: int):
    return config.model_copy(update={"training": config.training.model_copy(update={"epochs": epochs})})


def resolved_sweep(sweep: LoadedSweep) -> dict[str, Any]:
    """The sweep file as it is run: absolute base path, name and mode filled in."""
    resolved = {**sweep.spec.model_dump(mode="json", exclude_none=True), "base": str(sweep.base), "name": sweep.name}
    resolved["mode"] = sweep.spec.resolved_mode
    return resolved


def new_cv(loaded: LoadedConfig, folds: int, runs_dir: str | Path | None, threads: int) -> Path:
    """A cross-validation of one config: K runs, fold j held out as run j's test split."""
    check_runnable(loaded, folds=folds)  # train's pre-flight on every fold's config, before anything is made
    config = loaded.config
    # the figure on the progress lines (the report gives every metric's mean and std)
    metric, mode = ("test_loss", "min") if _task(config) == "regression" else ("test_accuracy", "max")
    trials = [PlannedTrial(trial=0, parameters={}, runs=[])]
    plan = Plan(kind="cv", metric=metric, mode=mode, folds=folds, threads=threads, trials=trials)
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
