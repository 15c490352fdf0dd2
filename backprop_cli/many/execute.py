"""Running a study: its policy's steps become jobs on the backend, the jobs' outcomes become rows."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from backprop_cli.many.policies import Step, make_policy
from backprop_cli.many.results import UNFINISHED, trial_row
from backprop_cli.many.runner import Backend, Job, run_jobs
from backprop_cli.many.study import STOP_FILE, Plan, missing_runs, open_study, results_files
from backprop_cli.many.task import SHARED_FS_FIX, Task, WorkerAccessError
from backprop_cli.nn.plugin_source import provided


def run_study(
    directory: Path,
    backend: Backend,
    stop: threading.Event,
    on_row: Callable[[dict[str, Any]], None] | None = None,
    on_run: Callable[[int, int, dict[str, Any]], None] | None = None,
    on_rung: Callable[[int, int, int, list[int]], None] | None = None,
) -> tuple[list[dict[str, Any]], bool]:
    """Run what the study has left; (all rows, whether it was stopped before the end).

    A trial's row is appended when the policy calls it final; a trial whose run was interrupted gets
    none, so that `--resume` runs it (and only it) again. `on_run(trial, fold, outcome)` hears of
    every run, `on_rung(rung, epochs, trials, promoted)` of every successive-halving decision.
    """
    directory = Path(directory).resolve()  # the workers' working directory is not ours
    plan = open_study(directory)
    results = results_files(directory, plan)
    rows = results.read()
    policy = make_policy(directory, plan, rows, backend.slots, on_rung)

    def record(final: list[dict[str, Any]]) -> None:
        for row in final:
            results.append(row)
            rows.append(row)
            if on_row is not None:
                on_row(row)

    if len(rows) == plan.total:  # a finished study: nothing to run, nothing to change
        return rows, False
    steps, final = policy.start()
    record(final)
    if not steps:
        record(policy.finish())
        return rows, False
    stop_file = directory / STOP_FILE
    stop_file.unlink(missing_ok=True)  # a resumed study runs again
    missing_runs(directory, plan, [plan.trials[s.trial] for s in steps])
    _check_workers(backend, directory, plan)
    plugins = tuple((source.name, source.text) for source in provided())  # the user's layers travel with the task
    jobs = _Jobs(directory, plan, Task("", backend.threads, str(stop_file), plugins=plugins))
    outcomes: dict[tuple[int, int | None], dict[int, dict[str, Any]]] = {}

    def collect(job: Job, outcome: dict[str, Any]) -> list[Job]:
        step, run = job.key
        if on_run is not None:
            on_run(step.trial, run, outcome)
        got = outcomes.setdefault((step.trial, step.rung), {})
        got[run] = outcome
        entry = plan.trials[step.trial]
        if len(got) < len(entry.runs) or any(o["status"] in UNFINISHED for o in got.values()):
            return []
        del outcomes[(step.trial, step.rung)]
        finished = [got[j] for j in range(len(entry.runs))]
        row = trial_row(step.trial, entry.parameters, finished, plan.metric, plan.multi_run or "folds")
        more, final = policy.on_result(step, row)
        record(final)
        return jobs.of(more)

    stopped = run_jobs(backend, jobs.of(steps), collect, stop)
    if not stopped:
        record(policy.finish())
    return rows, stopped


class _Jobs:
    """A step's jobs: one per run of its trial (its folds or seeds), paused at the step's budget."""

    def __init__(self, directory: Path, plan: Plan, template: Task):
        self.directory, self.plan, self.template = directory, plan, template  # threads, stop file, plugins

    def of(self, steps: list[Step]) -> list[Job]:
        return [
            Job((step, j), replace(self.template, run_dir=str(self.directory / run), budget=step.budget))
            for step in steps
            for j, run in enumerate(self.plan.trials[step.trial].runs)
        ]


def _check_workers(backend: Backend, directory: Path, plan: Plan) -> None:
    problems = backend.probe([str(directory)], plan.data_files) if backend.probe else []
    if problems:
        raise WorkerAccessError("; ".join(sorted(set(problems))), fix=SHARED_FS_FIX)
