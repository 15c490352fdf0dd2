"""A study directory (a sweep's or a cross-validation's) as an artifact with a schema.

It is made under a hidden temporary name, its run directories and plan.json inside, and renamed to
its final name only once the plan is in: an interruption while making it (Ctrl-C in the middle of
300 trial directories) leaves no half-made study, only a hidden temporary that is removed. Every
open validates plan.json (types, the run paths inside the directory, its kind against the verb)
and names a trial directory that is missing.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from backprop_cli.config.load import config_to_yaml
from backprop_cli.config.schema import Config
from backprop_cli.config.spec import Spec
from backprop_cli.errors import RunDirError
from backprop_cli.many.spec import METRICS, HalvingSchedule
from backprop_cli.runs.atomic import atomic_write_text
from backprop_cli.runs.rundir import RunFiles, create_run_dir
from backprop_cli.runs.studydir import PLAN_FILE, PLAN_LIMIT, RESUME
from backprop_cli.train.signals import interrupted_between_steps

STOP_FILE = ".stop"


class PlannedTrial(Spec):
    trial: int = Field(ge=0)
    parameters: dict[str, Any]
    runs: list[str] = Field(default_factory=list)  # run directories, relative to the study's (made with them)

    @field_validator("runs")
    @classmethod
    def _inside(cls, runs: list[str]) -> list[str]:
        for run in runs:
            if Path(run).is_absolute() or ".." in Path(run).parts or not run:
                raise ValueError(f"{run!r} is not a path inside the study directory")
        return runs


class Plan(Spec):
    """What a study is made of, written before anything runs (plan.json); a tpe sweep appends trials."""

    kind: Literal["sweep", "cv"]
    metric: Literal[METRICS]  # type: ignore[valid-type]
    mode: Literal["max", "min"]
    folds: int | None = Field(None, ge=2, le=100)
    repeats: int | None = Field(None, ge=1, le=100)
    threads: int = Field(ge=1, le=1024)
    trials: list[PlannedTrial]
    data_files: list[str] = Field(default_factory=list)  # the user's data files, which every worker must read
    method: Literal["grid", "random", "tpe"] | None = None
    schedule: HalvingSchedule | None = None
    batch: int | None = Field(None, ge=1, le=1024)  # tpe: trials asked at once
    seed: int | None = None  # tpe: the sampler's seed
    sweep: dict[str, Any] | None = None  # the resolved sweep file it was planned from, to compare on resume
    source: str | None = None  # that sweep file's path
    overrides: list[str] = Field(default_factory=list)  # `sweep --set`: applied to every trial's base config

    @model_validator(mode="after")
    def _numbered(self) -> Plan:
        if [t.trial for t in self.trials] != list(range(len(self.trials))):
            raise ValueError("trials must be numbered 0, 1, 2, ... in order")
        return self

    @property
    def total(self) -> int:
        """Trials in all: a tpe sweep's are asked as it runs."""
        return int(self.sweep["trials"]) if self.method == "tpe" and self.sweep else len(self.trials)

    @property
    def parameter_keys(self) -> list[str]:
        return list(dict.fromkeys(k for t in self.trials for k in t.parameters))

    @property
    def multi_run(self) -> str | None:
        """The key of a trial's runs in its row: "folds" (cv), "repeats" (seeds), or None (one run)."""
        return "folds" if self.folds else "repeats" if self.repeats and self.repeats > 1 else None


def run_specs(plan: Plan, config: Config) -> list[tuple[str, Config]]:
    """A trial's runs as (directory name prefix, config): one, a run per fold, or a run per seed."""
    from backprop_cli.many.configs import fold_config

    if plan.folds:
        return [(f"fold-{j}", fold_config(config, plan.folds, j)) for j in range(plan.folds)]
    if plan.multi_run == "repeats":
        return [
            (f"seed-{config.seed + r}", config.model_copy(update={"seed": config.seed + r}))
            for r in range(plan.repeats)
        ]
    return [("", config)]


def create_study(runs_dir: str | Path, name: str, plan: Plan, configs: list[Config], files: dict[str, str]) -> Path:
    """The study's directory with `files` (name -> text), every run directory and plan.json, made under
    a temporary name and renamed once whole."""
    plan.data_files = sorted({p for c in configs for p in (c.data.path, c.data.test_path) if p})
    suffix = "" if name.endswith(plan.kind) else f"-{plan.kind}"  # iris-sweep.yaml -> iris-sweep-<stamp>-<hex>
    final = _study_dir(runs_dir, f"{name}{suffix}")  # reserves the name; stays empty until the rename
    building = final.with_name(f".{final.name}.tmp")
    try:
        with interrupted_between_steps() as check:  # Ctrl-C: between two trial directories, never lost
            os.mkdir(building)
            for filename, text in files.items():
                atomic_write_text(building / filename, text)
            made = []
            for trial, config in zip(plan.trials, configs):
                check()
                made.append(_make_trial(building, plan, trial, config))
            plan.trials = made
            write_plan(building, plan)
            _start_results(building, plan)
            check()
            os.rename(building, final)  # onto the empty reserved directory: one atomic step
    except BaseException:  # Ctrl-C included: no half-made study is left behind
        shutil.rmtree(building, ignore_errors=True)
        if final.is_dir() and not any(final.iterdir()):
            os.rmdir(final)
        raise
    return final


def add_trials(directory: Path, plan: Plan, trials: list[PlannedTrial], configs: list[Config]) -> list[PlannedTrial]:
    """Trials chosen as the study runs (tpe): their run directories, then the plan that names them."""
    made = [_make_trial(directory, plan, trial, config) for trial, config in zip(trials, configs)]
    plan.trials.extend(made)
    write_plan(directory, plan)
    return made


def _make_trial(directory: Path, plan: Plan, trial: PlannedTrial, config: Config) -> PlannedTrial:
    name = f"trial-{trial.trial:03d}"
    specs = run_specs(plan, config)
    if len(specs) == 1:
        runs = [_new_run(directory, name, specs[0][1])]
    else:
        parent = directory if plan.kind == "cv" else directory / name
        parent.mkdir(exist_ok=True)
        runs = [_new_run(parent, prefix, run_config) for prefix, run_config in specs]
    return trial.model_copy(update={"runs": [str(run.relative_to(directory)) for run in runs]})


def _study_dir(runs_dir: str | Path, name: str) -> Path:
    directory = create_run_dir(runs_dir, name)  # exclusive, stamped; a study holds no checkpoints of its own
    os.rmdir(RunFiles(directory).checkpoints)
    return directory


def _new_run(parent: Path, name: str, config: Config) -> Path:
    run_dir = create_run_dir(parent, name)
    atomic_write_text(RunFiles(run_dir).config, config_to_yaml(config))
    return run_dir


def _start_results(directory: Path, plan: Plan) -> None:
    results_files(directory, plan).start()


def results_files(directory: Path, plan: Plan):
    from backprop_cli.many.results import ResultsFiles

    return ResultsFiles(
        directory, plan.parameter_keys, plan.metric, plan.multi_run is not None, plan.schedule is not None
    )


def write_plan(directory: Path, plan: Plan) -> None:
    atomic_write_text(directory / PLAN_FILE, json.dumps(plan.model_dump(mode="json"), indent=1) + "\n")


def is_study_dir(directory: str | Path) -> bool:
    return (Path(directory) / PLAN_FILE).is_file()


def open_study(directory: str | Path, verb: str | None = None) -> Plan:
    """The validated plan of a study directory; RunDirError when it is not one, is damaged, is of the
    other kind than `verb`, or misses a trial's run directory."""
    plan = read_plan(directory)
    if verb is not None and plan.kind != verb:
        raise RunDirError(
            f"{directory} is a {plan.kind} directory, not a {verb} directory",
            fix=f"continue it with `{RESUME[plan.kind]} {directory}`",
        )
    return plan


def read_plan(directory: str | Path) -> Plan:
    """plan.json, read bounded and validated."""
    from backprop_cli.config.validation import validate
    from backprop_cli.errors import ConfigError
    from backprop_cli.userfiles import read_regular

    path = Path(directory) / PLAN_FILE
    try:
        data = json.loads(read_regular(path, str(path), PLAN_LIMIT, RunDirError))
        plan = validate(Plan, data, where=lambda key_path: str(path))
        if any(not t.runs for t in plan.trials):
            raise ValueError("a trial names no run directory")
        return plan
    except FileNotFoundError:
        raise RunDirError(
            f"{directory} is not a sweep or cv directory (no {PLAN_FILE})",
            fix="give the directory that `backprop sweep` or `backprop cv` printed",
        ) from None
    except (OSError, ValueError, RecursionError, ConfigError) as err:
        what = err.what if isinstance(err, ConfigError) else str(err)
        raise RunDirError(
            f"the study's plan is damaged: {what}", where=str(path), fix="start the sweep or cv again"
        ) from None


def missing_runs(directory: Path, plan: Plan, trials: list[PlannedTrial]) -> None:
    """A run directory that the plan names but that is gone (deleted by hand) is named as such."""
    gone = [(t.trial, run) for t in trials for run in t.runs if not (directory / run).is_dir()]
    if gone:
        listed = ", ".join(f"trial {trial}: {run}" for trial, run in gone[:5])
        more = f" and {len(gone) - 5} more" if len(gone) > 5 else ""
        raise RunDirError(
            f"run director{'ies' if len(gone) > 1 else 'y'} of unfinished trials {'are' if len(gone) > 1 else 'is'} "
            f"missing from the study (deleted by hand?): {listed}{more}",
            where=str(directory),
            fix="put them back, or start the study again",
        )


def top_runs(directory: str | Path, n: int) -> list[Path]:
    """The run directories of a sweep's n best trials, best first (a trial of several runs: its first)."""
    from backprop_cli.many.results import ranked

    plan = open_study(directory, "sweep")
    rows = ranked(results_files(Path(directory), plan).read(), plan.metric, plan.mode)
    best = [row for row in rows if row.get(plan.metric) is not None][:n]
    return [Path(directory) / plan.trials[row["trial"]].runs[0] for row in best]
