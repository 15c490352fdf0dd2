"""A sweep or a cross-validation on disk: its directory, its plan, its runs, and running what is left.

    <runs>/<name>-sweep-<stamp>-<hex>/          <runs>/<name>-cv-<stamp>-<hex>/
      sweep.yaml    the resolved sweep file         cv.json       folds, mean, std (at the end)
      plan.json     trials, parameters, runs        plan.json
      results.jsonl, results.csv                    results.jsonl, results.csv
      trial-000-<stamp>-<hex>/  a run directory     fold-0-<stamp>-<hex>/  a run directory
      trial-001/fold-0-<stamp>-<hex>/ ...  (a sweep with cv: K)

Every run directory and its config.yaml exist before the first run starts; a run is then an ordinary
run in its directory, so `eval`, `predict`, `plot` and `runs compare` work on it, and whatever did
not finish is continued by the resume machinery (plan.json says what the study was made of).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backprop_cli.config.load import config_to_yaml
from backprop_cli.config.schema import Config
from backprop_cli.errors import RunDirError
from backprop_cli.many.configs import fold_config
from backprop_cli.many.results import UNFINISHED, ResultsFiles, trial_row
from backprop_cli.many.runner import Backend, Job, run_jobs
from backprop_cli.many.task import SHARED_FS_FIX, Task, WorkerAccessError
from backprop_cli.nn.plugin_source import provided
from backprop_cli.runs.atomic import atomic_write_text
from backprop_cli.runs.rundir import RunFiles, create_run_dir

PLAN_FILE = "plan.json"
STOP_FILE = ".stop"


@dataclass
class Plan:
    """What a study is made of, written once before anything runs (plan.json)."""

    kind: str  # "sweep" | "cv"
    metric: str
    mode: str  # "max" | "min"
    folds: int | None
    threads: int
    trials: list[dict[str, Any]]  # {"trial": i, "parameters": {...}, "runs": [run dir names, relative]}
    data_files: list[str] = field(default_factory=list)  # the user's data files, which every worker must read

    @property
    def parameter_keys(self) -> list[str]:
        return list(dict.fromkeys(k for t in self.trials for k in t["parameters"]))


def create_study(runs_dir: str | Path, name: str, plan: Plan, configs: list[Config], files: dict[str, str]) -> Path:
    """The study's directory with `files` (name -> text), every run directory and plan.json."""
    plan.data_files = sorted({p for c in configs for p in (c.data.path, c.data.test_path) if p})
    suffix = "" if name.endswith(plan.kind) else f"-{plan.kind}"  # iris-sweep.yaml -> iris-sweep-<stamp>-<hex>
    directory = _study_dir(runs_dir, f"{name}{suffix}")
    for filename, text in files.items():
        atomic_write_text(directory / filename, text)
    for trial, config in zip(plan.trials, configs):
        if plan.folds is None:
            runs = [_new_run(directory, f"trial-{trial['trial']:03d}", config)]
        else:
            parent = directory if plan.kind == "cv" else directory / f"trial-{trial['trial']:03d}"
            parent.mkdir(exist_ok=True)
            runs = [_new_run(parent, f"fold-{j}", fold_config(config, plan.folds, j)) for j in range(plan.folds)]
        trial["runs"] = [str(run.relative_to(directory)) for run in runs]
    atomic_write_text(directory / PLAN_FILE, json.dumps(plan.__dict__, indent=1) + "\n")
    ResultsFiles(directory, plan.parameter_keys, plan.metric, plan.folds is not None).start()
    return directory


def _study_dir(runs_dir: str | Path, name: str) -> Path:
    directory = create_run_dir(runs_dir, name)  # exclusive, stamped; a study holds no checkpoints of its own
    os.rmdir(RunFiles(directory).checkpoints)
    return directory


def _new_run(parent: Path, name: str, config: Config) -> Path:
    run_dir = create_run_dir(parent, name)
    atomic_write_text(RunFiles(run_dir).config, config_to_yaml(config))
    return run_dir


def read_plan(directory: str | Path) -> Plan:
    """The plan of a study directory; RunDirError when it is not one."""
    path = Path(directory) / PLAN_FILE
    try:
        return Plan(**json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise RunDirError(
            f"{directory} is not a sweep or cv directory (no {PLAN_FILE})",
            fix="give the directory that `backprop sweep` or `backprop cv` printed",
        ) from None
    except (OSError, ValueError, TypeError) as err:
        raise RunDirError(f"cannot read {path}: {err}", fix="the study's plan is damaged; start it again") from None


def _check_workers(backend: Backend, directory: Path, plan: Plan) -> None:
    problems = backend.probe([str(directory)], plan.data_files) if backend.probe else []
    if problems:
        raise WorkerAccessError("; ".join(sorted(set(problems))), fix=SHARED_FS_FIX)


def run_study(
    directory: Path,
    backend: Backend,
    stop: threading.Event,
    on_row: Callable[[dict[str, Any]], None] | None = None,
    on_run: Callable[[int, int, dict[str, Any]], None] | None = None,
) -> tuple[list[dict[str, Any]], bool]:
    """Run every trial not yet in results.jsonl; (all rows, whether it was stopped before the end).

    A trial's row is appended when its last run ends; a trial whose run was interrupted gets no row,
    so that `--resume` runs it (and only it) again. `on_run(trial, fold, outcome)` hears of every run.
    """
    directory = Path(directory).resolve()  # the workers' working directory is not ours
    plan = read_plan(directory)
    results = ResultsFiles(directory, plan.parameter_keys, plan.metric, plan.folds is not None)
    rows = results.read()
    done = {row["trial"] for row in rows}
    stop_file = directory / STOP_FILE
    plugins = tuple((source.name, source.text) for source in provided())  # the user's layers travel with the task
    jobs = [
        Job((t["trial"], j), Task(str(directory / run), backend.threads, str(stop_file), plugins))
        for t in plan.trials
        if t["trial"] not in done
        for j, run in enumerate(t["runs"])
    ]
    if not jobs:  # a finished study: nothing to run, nothing to change
        return rows, False
    stop_file.unlink(missing_ok=True)  # a resumed study runs again
    _check_workers(backend, directory, plan)
    outcomes: dict[int, dict[int, dict[str, Any]]] = {}

    def collect(job: Job, outcome: dict[str, Any]) -> None:
        trial, fold = job.key
        outcomes.setdefault(trial, {})[fold] = outcome
        if on_run is not None:
            on_run(trial, fold, outcome)
        entry = plan.trials[trial]
        if len(outcomes[trial]) < len(entry["runs"]):
            return
        finished = [outcomes[trial][j] for j in range(len(entry["runs"]))]
        if any(o["status"] in UNFINISHED for o in finished):
            return
        row = trial_row(trial, entry["parameters"], finished, plan.metric)
        results.append(row)
        rows.append(row)
        if on_row is not None:
            on_row(row)

    return rows, run_jobs(backend, jobs, collect, stop)
