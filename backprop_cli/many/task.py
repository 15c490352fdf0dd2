"""One run of a sweep or a cross-validation, as a worker runs it: the same `run_training` as `backprop train`.

The client creates every run directory (its config.yaml) before anything runs; a worker then runs
or continues that directory through the resume machinery (a run with no checkpoint
starts from scratch, identical to a fresh run). So a retry after a lost worker, and `sweep --resume`
after Ctrl-C, continue from the last checkpoint bit-identically, and a finished run is not run again.

Why a library call and not a `backprop train` subprocess per trial: the same `run_training` gives the
same run directory, resume and bits, without paying an interpreter and NumPy start-up per trial,
and it returns the summary to the client as data. Signals are the one thing a subprocess gives for
free, and a stop file gives the same to both executors: on a local pool the run's own SIGINT
handler (installed in the worker's main thread) and the file both ask it to checkpoint and stop; on
a Dask worker, where a run is a thread and cannot install handlers, the file does.

`run_task` never raises for the run's own failures (a bad combination found late, divergence): they
come back as an outcome with the error, so that one failed trial does not stop the others. It raises
`WorkerAccessError` when the worker cannot see the run directory: the cluster is set up wrong.
"""

from __future__ import annotations

import json
import os
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backprop_cli.errors import BackpropError, DivergedError, UserError
from backprop_cli.train.callbacks import Callback

FINISHED = ("completed", "early_stopped")
ATTEMPTS_FILE = ".attempts.json"  # one entry per start of this run by a worker; "ended" once it returned
MAX_LOST = 2  # a run whose worker was lost is retried once: after a second loss it is failed
STOP_POLL_S = 0.2


class WorkerAccessError(UserError):
    """A worker cannot read or write the sweep's directory: the workers need a shared filesystem."""

    def __reduce__(self):  # raised on a worker, pickled back to the client: keep where and fix
        return _rebuild_access_error, (self.what, self.where, self.fix)


def _rebuild_access_error(what: str, where: str | None, fix: str | None) -> WorkerAccessError:
    return WorkerAccessError(what, where=where, fix=fix)


@dataclass(frozen=True)
class Task:
    run_dir: str
    threads: int  # BLAS and optimizer threads of this run (runs x threads <= cores)
    stop_file: str  # its existence asks the run to stop, checkpointed, as Ctrl-C would
    budget: int | None = None  # successive halving: pause after this epoch (the rung's end)
    # (file name, source text) of the user's plugin layers: a worker needs no copy of the user's files, and
    # its run builds a plugin only from the text whose SHA-256 (computed on the worker) the config names
    plugins: tuple[tuple[str, str], ...] = ()


def run_task(task: Task) -> dict[str, Any]:
    """Run (or continue) the run directory; the outcome: status, error, summary, metrics, seconds, host."""
    started = time.time()
    run_dir = Path(task.run_dir)
    _check_access(run_dir)
    if os.path.exists(task.stop_file):
        return {"status": "not_started", "run_dir": str(run_dir)}
    held = _held_elsewhere(run_dir)
    if held:  # e.g. a worker still running it for a client that was killed: not this attempt's to run
        return {"status": "busy", "error": held, "run_dir": str(run_dir)}
    attempts = _start_attempt(run_dir)
    lost = sum(1 for a in attempts[:-1] if not a.get("ended"))
    if lost >= MAX_LOST:
        outcome = _failed(f"the worker running it was lost {lost} times; it is not retried again", "failed")
    else:
        with _blas_threads(task.threads):
            outcome = _train(run_dir, task)
    _end_attempt(run_dir, attempts)
    outcome.update(run_dir=str(run_dir), attempts=len(attempts), host=socket.gethostname())
    outcome["seconds"] = round(time.time() - started, 3)
    return outcome


def _train(run_dir: Path, task: Task) -> dict[str, Any]:
    from backprop_cli.nn.plugin_source import provide_text
    from backprop_cli.runs.metrics_log import read_metrics
    from backprop_cli.runs.rundir import RunFiles
    from backprop_cli.train.fpenv import subnormals_flushed
    from backprop_cli.train.resume import prepare_resume
    from backprop_cli.train.session import RunOptions, run_training

    try:
        for name, text in task.plugins:
            provide_text(name, text)
        point = prepare_resume(run_dir, None)
        ended = _ended_early(run_dir) if task.budget is not None else None
        if point.already_finished is not None or ended is not None:
            summary = point.already_finished or ended
        else:
            callbacks = [StopFile(task.stop_file)] + ([PauseAt(task.budget)] if task.budget else [])
            options = RunOptions(threads=task.threads, extra_callbacks=callbacks)
            with subnormals_flushed():  # as `backprop train` trains
                summary = run_training(point.config, options, point).summary
        outcome = {"status": summary["status"], "error": None, "summary": summary}
        outcome["kept_epoch"] = _kept_epoch(point.config, summary)
    except DivergedError as err:
        outcome = _failed(str(err), "diverged")
    except BackpropError as err:
        outcome = _failed(str(err), "failed")
    except Exception as err:  # noqa: BLE001 - a bug in one trial must not stop the sweep; it is reported
        outcome = _failed(f"{type(err).__name__}: {err}", "failed")
    if "summary" not in outcome:
        from backprop_cli.runs.summary import read_summary

        outcome["summary"] = read_summary(run_dir)
    records = read_metrics(RunFiles(run_dir).metrics)
    outcome["metrics"] = [{k: v for k, v in r.items() if k != "layers"} for r in records]
    return outcome


def _ended_early(run_dir: Path) -> dict[str, Any] | None:
    """The summary of a run that early stopping ended before its last epoch: promoted to a later rung,
    it has nothing left to train (a resume would train on from its last checkpoint)."""
    from backprop_cli.runs.summary import read_summary

    summary = read_summary(run_dir) or {}
    return summary if summary.get("status") == "early_stopped" else None


def _held_elsewhere(run_dir: Path) -> str | None:
    """Why the run cannot be taken now (its lock is held by a live process), or None."""
    from backprop_cli.errors import RunDirError
    from backprop_cli.runs.rundir import RunLock

    try:
        with RunLock(run_dir):
            return None
    except RunDirError as err:
        return str(err)


def _kept_epoch(config, summary: dict[str, Any]) -> int | None:
    """The epoch whose weights the run ends with: its best one when restored (as for its test scores)."""
    es = config.training.early_stopping
    best = summary.get("best_epoch")
    return best if best and (es is None or es.restore_best) else summary.get("epochs_run")


def _failed(error: str, status: str) -> dict[str, Any]:
    return {"status": status, "error": error}


class StopFile(Callback):
    """Stops the run between two steps once `path` exists: the sweep's Ctrl-C, seen by every worker."""

    name = "stop_file"

    def __init__(self, path: str):
        self.path = path
        self.next_check = 0.0

    def on_batch_end(self, trainer, loss: float) -> None:
        now = time.monotonic()
        if now < self.next_check:  # a stat per step would cost on a network filesystem
            return
        self.next_check = now + STOP_POLL_S
        if os.path.exists(self.path):
            trainer.request_stop("the sweep was interrupted", "interrupted")


class PauseAt(Callback):
    """Pauses the run once `epoch` epochs are done, checkpointed (status "paused"): the end of a rung of
    successive halving. The config keeps its full epochs, so the schedule and every other epoch-dependent
    figure are those of the full run, and a promoted run's resume continues it bit-identically."""

    name = "pause_at"

    def __init__(self, epoch: int):
        self.epoch = epoch

    def on_train_begin(self, trainer) -> None:  # a resume that is already at the rung's end
        self._check(trainer)

    def on_epoch_end(self, trainer, logs: dict) -> None:
        self._check(trainer)

    def _check(self, trainer) -> None:
        if self.epoch <= trainer.epoch < trainer.epochs:
            reason = f"paused after epoch {trainer.epoch}: the end of its successive-halving rung"
            trainer.request_stop(reason, "paused")


SHARED_FS_FIX = "the workers need the runs directory and the data at the same paths as here: a shared filesystem"


def access_problems(writable: list[str], readable: list[str]) -> list[str]:
    """What this machine cannot do of what a worker must: write the study's directories, read the data."""
    host = socket.gethostname()
    problems = [f"worker {host} cannot write {p}" for p in writable if not os.access(p, os.W_OK | os.X_OK)]
    return problems + [f"worker {host} cannot read {p}" for p in readable if not os.access(p, os.R_OK)]


def _check_access(run_dir: Path) -> None:
    from backprop_cli.runs.rundir import RunFiles

    problems = access_problems([str(run_dir)], [str(RunFiles(run_dir).config)])
    if problems:
        raise WorkerAccessError("; ".join(problems), fix=SHARED_FS_FIX)


def ignore_interrupts() -> None:
    """A local pool worker's initializer: Ctrl-C reaches the whole process group, but between runs only
    the client acts on it (a running run installs its own handler, checkpoints and returns)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _start_attempt(run_dir: Path) -> list[dict[str, Any]]:
    from backprop_cli.runs.atomic import atomic_write_text

    path = run_dir / ATTEMPTS_FILE
    try:
        attempts = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        attempts = []
    attempts = attempts if isinstance(attempts, list) else []
    attempts.append({"host": socket.gethostname(), "pid": os.getpid(), "started": time.time()})
    atomic_write_text(path, json.dumps(attempts) + "\n")
    return attempts


def _end_attempt(run_dir: Path, attempts: list[dict[str, Any]]) -> None:
    from backprop_cli.runs.atomic import atomic_write_text

    attempts[-1]["ended"] = time.time()
    atomic_write_text(run_dir / ATTEMPTS_FILE, json.dumps(attempts) + "\n")


@contextmanager
def _blas_threads(threads: int):
    """Cap BLAS threads in this process for the run. A local pool's workers start with the cap in their
    environment; a Dask worker's nanny sets one thread per worker process; threadpoolctl, when
    installed, enforces the count either way."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=threads, user_api="blas"):
        yield
