"""`backprop sweep`: grid, random or tpe search over config keys, on local processes or a Dask cluster."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Annotated, Optional

import typer

from backprop_cli.cli.backends import (
    CONNECT_TIMEOUT_S,
    ConnectTimeoutOption,
    SchedulerFileOption,
    SchedulerOption,
    ThreadsOption,
    WorkersOption,
    backend,
)
from backprop_cli.cli.options import PluginFiles, hand_over_plugins

MANY_TRIALS = 200  # from this many trials on, say that their configs are being checked (~3 ms each)


def sweep(
    sweep_file: Annotated[Optional[Path], typer.Argument(help="Sweep YAML file.")] = None,
    set_: Annotated[
        Optional[list[str]], typer.Option("--set", help="Override a key of every trial's config: training.epochs=5")
    ] = None,
    workers: WorkersOption = None,
    threads: ThreadsOption = None,
    scheduler: SchedulerOption = None,
    scheduler_file: SchedulerFileOption = None,
    connect_timeout: ConnectTimeoutOption = CONNECT_TIMEOUT_S,
    runs_dir: Annotated[Optional[str], typer.Option("--runs-dir", help="Where the sweep directory goes.")] = None,
    resume: Annotated[
        Optional[Path], typer.Option("--resume", help="Run what did not finish of this sweep directory.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help='Print {"trials": [...]}, ranked, as JSON.')] = False,
    plugin: PluginFiles = None,
) -> None:
    """Run a trial per combination of parameters and rank them; print the sweep directory."""
    from backprop_cli.errors import UserError

    hand_over_plugins(plugin)  # --resume: the plugin layers' code, as the sweep's base config named it

    if (sweep_file is None) == (resume is None):
        raise UserError("give a sweep file, or --resume SWEEP_DIR (not both)", fix="backprop sweep sweep.yaml")
    refuse_set_on_resume(set_, resume, "sweep")
    loaded, plan = _load(sweep_file, resume, set_ or [])
    if plan and threads and threads != plan.threads:
        raise UserError(
            f"this sweep ran with {plan.threads} thread(s) per run; the thread count changes results",
            where="--threads",
            fix="resume without --threads",
        )
    with backend(workers, scheduler, scheduler_file, plan.threads if plan else threads, connect_timeout) as chosen:
        if resume is None:
            from backprop_cli.many.plans import new_sweep

            directory = new_sweep(loaded, runs_dir, chosen.threads, on_count=_announce_checking, slots=chosen.slots)
        else:
            directory = resume
        rows, signum = run_with_signals(directory, chosen, "sweep")
    _report(directory, rows, as_json, signum)


def _announce_checking(count: int) -> None:
    if count >= MANY_TRIALS:  # every config is checked first: a few ms each, silent otherwise
        print(f"checking the configs of {count:,} trials before the first one runs", file=sys.stderr)


def refuse_set_on_resume(overrides: list[str] | None, resume: Path | None, verb: str) -> None:
    """A resumed study runs the configs its plan fixed: a --set would be ignored, so it is refused."""
    if overrides and resume is not None:
        from backprop_cli.errors import UserError

        raise UserError(
            f"a resumed {verb} runs the configs its plan.json fixed when it started; --set would change nothing",
            where="--set",
            fix=f"resume without --set, or start a new {verb} with it",
        )


def _load(sweep_file, resume, overrides):
    """A new sweep's validated file (with its --set overrides), or a resumed sweep's plan."""
    if resume is not None:
        from backprop_cli.many.edits import check_unedited
        from backprop_cli.many.study import open_study

        plan = open_study(resume, "sweep")
        check_unedited(resume, plan)
        return None, plan
    from backprop_cli.many.spec import load_sweep

    return load_sweep(sweep_file, overrides), None


def run_with_signals(directory: Path, chosen, verb: str) -> tuple[list[dict], int | None]:
    """Run what is left of the study; Ctrl-C (or SIGTERM) stops it cleanly: (rows, the signal or None)."""
    from backprop_cli.cli.studyview import StudyView, describe_study
    from backprop_cli.many.execute import run_study
    from backprop_cli.many.study import open_study
    from backprop_cli.train.signals import stop_on_signals

    plan = open_study(directory, verb)
    stop = threading.Event()
    label = "repeat" if plan.multi_run == "repeats" else "fold"
    view = StudyView(plan.total, plan.metric, plan.mode, quiet_rows=plan.kind == "cv", run_label=label,
                     directory=directory)  # fmt: skip
    overrides = "".join(f" --set {item}" for item in plan.overrides)
    view.start(f"{plan.kind} {directory}: {describe_study(plan)} on {chosen.description}"
               + (f", with{overrides}" if overrides else ""))  # fmt: skip

    class Stopper:  # what stop_on_signals asks of a trainer
        def request_stop(self, reason: str, status: str) -> None:
            stop.set()
            view.stopping()

    try:
        with stop_on_signals(Stopper()) as received:
            on_run = view.run if plan.multi_run else None
            rows, _ = run_study(directory, chosen, stop, on_row=view.row, on_run=on_run, on_rung=view.rung)
    finally:
        view.close()
    return rows, received[0] if received else None


def _report(directory: Path, rows: list[dict], as_json: bool, signum: int | None) -> None:
    from backprop_cli.cli.studyview import print_compute, print_ranked
    from backprop_cli.many.results import ranked
    from backprop_cli.many.study import read_plan
    from backprop_cli.runs.jsonio import dumps
    from backprop_cli.train.signals import die_by

    plan = read_plan(directory)
    ordered = ranked(rows, plan.metric, plan.mode)
    print_ranked(ordered, plan.metric)
    if plan.schedule is not None:
        print_compute(ordered, plan)
    left = plan.total - len(rows)
    if left:
        print(f"{left} trial(s) did not finish; continue with: backprop sweep --resume {directory}", file=sys.stderr)
    print(dumps({"trials": ordered}, indent=2) if as_json else directory, flush=True)
    if signum is not None:
        die_by(signum)
    if rows and all(row.get(plan.metric) is None for row in rows):
        from backprop_cli.errors import RunError

        raise RunError(
            f"no trial produced {plan.metric}: every trial that ran failed or diverged (their errors are above)",
            where=str(directory),
            fix="fix what the errors say, then start the sweep again",
        )
