"""`backprop train`: run an experiment and print its run directory (or, with --json, its summary)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from backprop_cli.cli.options import PluginFiles, cap_threads, hand_over_plugins, subnormals_flushed
from backprop_cli.cli.output import short_number


def train(
    config: Annotated[Optional[Path], typer.Argument(metavar="CONFIG", help="Experiment YAML file.")] = None,
    set_: Annotated[
        Optional[list[str]], typer.Option("--set", metavar="KEY=VALUE", help="Override a key: optimizer.lr=0.01")
    ] = None,
    run_name: Annotated[Optional[str], typer.Option("--run-name", metavar="NAME", help="Run-name prefix.")] = None,
    runs_dir: Annotated[
        Optional[str], typer.Option("--runs-dir", metavar="DIR", help="Where run directories go.")
    ] = None,
    resume: Annotated[
        Optional[Path], typer.Option("--resume", metavar="RUN", help="Continue this run directory.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")] = False,
    threads: Annotated[
        Optional[int], typer.Option("--threads", metavar="N", min=1, max=1024, help="BLAS and optimizer threads.")
    ] = None,
    plugin: PluginFiles = None,
) -> None:
    """Train the network described by CONFIG and print its run directory."""
    from backprop_cli.config.load import load_config
    from backprop_cli.errors import ConfigError, UserError

    if config is None and resume is None:
        raise UserError("give a config file, or --resume RUN_DIR", fix="backprop train configs/quickstart.yaml")
    overrides = set_ or []
    if resume is not None:  # a run's name stands for its newest run
        from backprop_cli.runs.rundir import newest_run_named

        resume = newest_run_named(resume) or resume
    if config is None and overrides:
        config = resume / "config.yaml"
    hand_over_plugins(plugin)  # a resumed run's plugin code comes only from --plugin, never from its config
    loaded = load_config(config, overrides, plugins=resume is None) if config is not None else None
    wanted = loaded.config if loaded else None
    threads = cap_threads(threads or (wanted.training.threads if wanted else None))
    try:
        with subnormals_flushed():  # subnormals are slow on some CPUs; off again on the way out
            _run(wanted, resume, run_name, runs_dir, quiet, as_json, threads)
    except ConfigError as err:  # found once the data is known (model size, class count): name the line
        raise loaded.locate(err) if loaded else err from None


def _run(wanted, resume, run_name, runs_dir, quiet, as_json, threads) -> None:
    from backprop_cli.cli.progress import make_progress
    from backprop_cli.runs.jsonio import dumps
    from backprop_cli.train.resume import prepare_resume
    from backprop_cli.train.session import RunOptions, run_training
    from backprop_cli.train.signals import Terminated, die_by

    point = prepare_resume(resume, wanted) if resume is not None else None
    if point is not None and point.already_finished is None and not quiet:
        print(_resume_notice(point), file=sys.stderr, flush=True)
    if point is not None and point.already_finished is not None:
        summary = point.already_finished
        print(
            f"run {point.run_dir} already {summary['status'].replace('_', ' ')} "
            f"(epoch {summary.get('epochs_run')}/{point.config.training.epochs})",
            file=sys.stderr,
        )
        print(dumps(summary) if as_json else point.run_dir)
        return
    config = point.config if point is not None else wanted
    options = RunOptions(
        runs_dir=runs_dir,
        run_name=run_name,
        threads=threads,
        extra_callbacks=[make_progress(quiet)],
        download_progress=_DownloadNotice(),
        notice=None if quiet else lambda line: print(line, file=sys.stderr, flush=True),
    )
    try:
        result = run_training(config, options, point)
    except Terminated as stop:  # SIGTERM before the loop started: nothing was left behind
        die_by(stop.args[0])
    if not quiet:
        _print_summary(result.summary, result.run_dir)
    print(dumps(result.summary) if as_json else result.run_dir, flush=True)
    if result.signal is not None:
        if not quiet:
            print(
                f"to continue from here: backprop train --resume {shlex.quote(str(result.run_dir))}",
                file=sys.stderr,
                flush=True,
            )
        die_by(result.signal)


def _best_epoch_figures(run_dir, summary: dict, monitor: str) -> dict:
    """The best epoch's validation accuracy (a classifier's headline), when it is not the monitor itself."""
    from backprop_cli.runs.metrics_log import read_metrics
    from backprop_cli.runs.rundir import RunFiles

    record = next((r for r in read_metrics(RunFiles(run_dir).metrics) if r.get("epoch") == summary["best_epoch"]), {})
    value = record.get("val_accuracy")
    return {"val_accuracy": value} if isinstance(value, float) and monitor != "val_accuracy" else {}


def _resume_notice(point) -> str:
    """Where a resumed run picks up: the checkpoint's epoch and step, or the start."""
    progress = point.checkpoint.meta.get("progress") if point.checkpoint is not None else None
    if not isinstance(progress, dict):
        return f"resuming {point.run_dir}: it saved no checkpoint yet, so training starts from the first step"
    epoch, batch, step = progress.get("epoch", 0), progress.get("batch_in_epoch", 0), progress.get("step", 0)
    where = f"epoch {epoch + 1}, batch {batch + 1}" if batch else f"the start of epoch {epoch + 1}"
    return f"resuming {point.run_dir} at {where} (step {step}; {epoch} of {point.config.training.epochs} epochs done)"


class _DownloadNotice:
    """A missing dataset is fetched before training: say so once per file, on stderr."""

    def __init__(self):
        self.announced: set[str] = set()

    def __call__(self, filename: str, done: int, total: int | None) -> None:
        if filename not in self.announced:
            self.announced.add(filename)
            size = f" ({total / 1e6:.1f} MB)" if total else ""
            print(f"downloading {filename}{size} (checksum-verified) ...", file=sys.stderr, flush=True)


def _print_summary(summary: dict, run_dir) -> None:
    """A short closing line on stderr: status, the best epoch with its validation figures, test figures."""
    parts = [f"status={summary['status']}", f"epochs={summary['epochs_run']}/{summary['epochs']}"]
    if summary.get("best_epoch"):
        monitor, value = next(iter(summary["best"].items()))
        parts.append(f"best_epoch={summary['best_epoch']} best_{monitor}={short_number(value)}")
        parts += [f"{key}={short_number(v)}" for key, v in _best_epoch_figures(run_dir, summary, monitor).items()]
    for key, value in (summary.get("test") or {}).items():
        parts.append(f"test_{key}={short_number(value)}")
    parts.append(f"time={summary['wall_time_s']:.1f}s")
    line = " ".join(parts)
    if sys.stderr.isatty():  # a terminal breaks between fields, never inside `time=14.5s`
        import shutil
        import textwrap

        line = "\n".join(textwrap.wrap(line, shutil.get_terminal_size().columns, break_long_words=False))
    print(line, file=sys.stderr, flush=True)
