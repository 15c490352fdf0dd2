"""One code path for many runs over the standard `concurrent.futures.Executor` interface.

The executor is chosen by the CLI verb (a local process pool, or Dask's client executor on a
cluster); this module only submits `run_task` jobs, collects their outcomes as they end, resubmits
the jobs whose worker was lost, and turns a stop request into the stop file that every worker sees.
"""

from __future__ import annotations

import concurrent.futures as cf
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backprop_cli.many.task import MAX_LOST, Task, WorkerAccessError, run_task

POLL_S = 0.2  # how often the client looks at its stop flag while it waits
MAX_RESUBMITS = MAX_LOST + 1  # a safety net: the run itself counts how often its worker was lost


@dataclass
class Backend:
    """What the CLI verb chose: how to make an executor, which of its errors mean a lost worker."""

    make_executor: Callable[[], cf.Executor]
    threads: int  # per run
    lost_errors: tuple[type[BaseException], ...] = (cf.BrokenExecutor, cf.CancelledError)
    description: str = ""
    # (writable, readable) -> problems seen by any worker; None: the workers share this machine's files
    probe: Callable[[list[str], list[str]], list[str]] | None = None
    slots: int = 1  # runs at once: asha keeps this many busy


@dataclass
class Job:
    key: Any  # the caller's name for it: (trial, fold)
    task: Task
    resubmitted: int = 0


def run_jobs(
    backend: Backend,
    jobs: list[Job],
    on_outcome: Callable[[Job, dict[str, Any]], list[Job] | None],
    stop: threading.Event,
) -> bool:
    """Run every job; `on_outcome` as each ends, which may answer with more jobs to run (the next rung,
    the next batch). Returns True when stopped by `stop` before the end.

    A lost worker's job is submitted again (its run continues from its last checkpoint; the run's
    own attempt count fails it after a second loss); after `stop` is set, the stop file asks running
    jobs to checkpoint and return, and queued ones return unstarted. A worker that cannot see the
    run directories stops everything (WorkerAccessError).
    """
    executor = backend.make_executor()
    jobs = list(jobs)
    pending = {executor.submit(run_task, job.task): job for job in jobs}
    try:
        while pending:
            done, _ = cf.wait(list(pending), timeout=POLL_S, return_when=cf.FIRST_COMPLETED)
            if stop.is_set():
                request_stop(jobs)
            again = []
            for future in done:
                job = pending.pop(future)
                outcome = _outcome(future, job, backend, stop)
                if outcome is None:
                    again.append(job)
                    continue
                more = on_outcome(job, outcome) or []
                if not stop.is_set():  # after a stop request, nothing new starts
                    jobs += more
                    again += more
            if any(isinstance(_error(f), cf.BrokenExecutor) for f in done):
                for job in pending.values():  # a broken pool loses every job it held
                    job.resubmitted += 1
                    again.append(job)
                pending.clear()
                executor.shutdown(wait=False)
                executor = backend.make_executor()
            for job in again:
                pending[executor.submit(run_task, job.task)] = job
    except BaseException:
        request_stop(jobs)  # running trials checkpoint and stop before the executor is shut down
        raise
    finally:
        executor.shutdown(wait=True)  # the interface every executor has (no cancel_futures)
    return stop.is_set()


def _outcome(future: cf.Future, job: Job, backend: Backend, stop: threading.Event) -> dict[str, Any] | None:
    """The job's outcome; None when its worker was lost and the job should run again."""
    error = _error(future)
    if error is None:
        return future.result()
    if isinstance(error, WorkerAccessError):
        raise error
    lost = isinstance(error, backend.lost_errors)
    if lost and stop.is_set():  # not finished: `--resume` runs it
        return {"status": "interrupted", "error": f"its worker was lost: {error}", "run_dir": job.task.run_dir}
    if lost and job.resubmitted < MAX_RESUBMITS:
        job.resubmitted += 1
        return None
    what = "its worker was lost" if lost else "it raised"
    return {"status": "failed", "error": f"{what}: {type(error).__name__}: {error}", "run_dir": job.task.run_dir}


def _error(future: cf.Future) -> BaseException | None:
    """What the job raised; a future the executor cancelled (Dask, on losing it) counts as lost."""
    return cf.CancelledError("the executor cancelled it") if future.cancelled() else future.exception()


def request_stop(jobs: list[Job]) -> None:
    """Create the stop file(s): every worker's run sees it between two steps."""
    for path in {job.task.stop_file for job in jobs}:
        Path(path).touch()
