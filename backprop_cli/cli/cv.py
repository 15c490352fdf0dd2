"""`backprop cv`: k-fold cross-validation of one config, on local processes or a Dask cluster."""

from __future__ import annotations

import sys
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


def cv(
    config: Annotated[Optional[Path], typer.Argument(help="Experiment YAML file.")] = None,
    folds: Annotated[int, typer.Option("--folds", "-k", min=2, max=100, help="K: the number of folds.")] = 5,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a key: optimizer.lr=0.01")] = None,
    workers: WorkersOption = None,
    threads: ThreadsOption = None,
    scheduler: SchedulerOption = None,
    scheduler_file: SchedulerFileOption = None,
    connect_timeout: ConnectTimeoutOption = CONNECT_TIMEOUT_S,
    runs_dir: Annotated[Optional[str], typer.Option("--runs-dir", help="Where the cv directory goes.")] = None,
    resume: Annotated[Optional[Path], typer.Option("--resume", help="Run the folds that did not finish.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print folds, mean and std as JSON.")] = False,
    plugin: PluginFiles = None,
) -> None:
    """Train CONFIG K times, each fold of its training data held out once; per-fold metrics, mean and std."""
    from backprop_cli.cli.sweep import refuse_set_on_resume, run_with_signals
    from backprop_cli.errors import UserError

    hand_over_plugins(plugin)  # --resume: the plugin layers' code, as the config named it

    if (config is None) == (resume is None):
        raise UserError("give a config file, or --resume CV_DIR (not both)", fix="backprop cv configs/iris.yaml")
    refuse_set_on_resume(set_, resume, "cv")
    if resume is not None:
        from backprop_cli.many.study import open_study

        loaded, threads = None, open_study(resume, "cv").threads  # the bits depend on it
    else:
        from backprop_cli.config.load import load_config

        loaded = load_config(config, set_ or [])
        _say_how_text_is_folded(loaded.config, folds)
    with backend(workers, scheduler, scheduler_file, threads, connect_timeout) as chosen:
        from backprop_cli.many.plans import new_cv

        directory = resume if resume is not None else new_cv(loaded, folds, runs_dir, chosen.threads)
        rows, signum = run_with_signals(directory, chosen, "cv")
    _report(directory, rows, as_json, signum)


def _say_how_text_is_folded(config, folds: int) -> None:
    from backprop_cli.data.text import is_text

    if is_text(config.data):
        print(f"note: text data: the folds are {folds} contiguous blocks of the text, each the test split once "
              "(shuffled windows would train on the neighbours of test windows)", file=sys.stderr)  # fmt: skip


def _report(directory: Path, rows: list[dict], as_json: bool, signum: int | None) -> None:
    from backprop_cli.cli.studyview import print_cv
    from backprop_cli.many.plans import cv_report
    from backprop_cli.runs.atomic import atomic_write_text
    from backprop_cli.runs.jsonio import dumps
    from backprop_cli.train.signals import die_by

    if signum is not None or not rows:
        print(f"continue with: backprop cv --resume {directory}", file=sys.stderr)
        print(directory, flush=True)
        if signum is not None:
            die_by(signum)
        return
    report = cv_report(rows[0])
    atomic_write_text(directory / "cv.json", dumps(report, indent=2) + "\n")
    print_cv(report)
    print(dumps(report, indent=2) if as_json else directory, flush=True)
    if report["status"] not in ("completed", "early_stopped"):
        raise SystemExit(1)
