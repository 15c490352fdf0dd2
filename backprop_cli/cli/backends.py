"""Where the runs of `sweep` and `cv` execute: a local process pool, or an existing Dask cluster.

Both are a `concurrent.futures.Executor`; the library's runner does not know which it got.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer

from backprop_cli.cli.options import FiniteFloat, cap_threads

WorkersOption = Annotated[
    Optional[int], typer.Option("--workers", min=1, max=1024, help="Local worker processes (default: the cores).")
]
SchedulerOption = Annotated[
    Optional[str], typer.Option("--scheduler", help="A Dask scheduler's address, tcp://HOST:PORT.")
]
ThreadsOption = Annotated[
    Optional[int], typer.Option("--threads", min=1, max=1024, help="BLAS threads per run (default: cores / workers).")
]
SchedulerFileOption = Annotated[
    Optional[Path], typer.Option("--scheduler-file", help="A Dask scheduler file (`dask scheduler --scheduler-file`).")
]
CONNECT_TIMEOUT_S = 10.0
MAX_CONNECT_TIMEOUT_S = 3600.0
ConnectTimeoutOption = Annotated[
    float,
    typer.Option(
        "--connect-timeout",
        parser=FiniteFloat(0.001, MAX_CONNECT_TIMEOUT_S),
        help="Seconds to wait for the Dask scheduler to answer.",
    ),
]


def local_threads(workers: int | None) -> tuple[int, int]:
    """(workers, BLAS threads per run) so that workers x threads <= the cores."""
    cores = os.cpu_count() or 1
    workers = workers or cores
    return workers, max(1, cores // workers)


@contextmanager
def backend(
    workers: int | None,
    scheduler: str | None,
    scheduler_file: Path | None,
    threads: int | None = None,
    connect_timeout: float = CONNECT_TIMEOUT_S,
):
    """The Backend the verb runs on; `threads` (--threads, or a resumed study's) wins over cores / workers.

    Call before NumPy is imported in this process: the local pool's workers inherit the thread cap
    through the environment, and spawn-started workers read it before their NumPy loads.
    """
    if scheduler is not None or scheduler_file is not None:  # an empty --scheduler is refused, not local
        if workers is not None:
            from backprop_cli.errors import UserError

            raise UserError(
                "--workers sets the local pool's size; a Dask cluster runs on its own workers",
                where="--workers",
                fix="drop --workers, or start more `dask worker` processes",
            )
        if scheduler is not None and scheduler_file is not None:
            from backprop_cli.errors import UserError

            raise UserError("give --scheduler or --scheduler-file, not both", where="--scheduler")
        with _dask_backend(scheduler, scheduler_file, threads or 1, connect_timeout) as chosen:
            yield chosen
        return
    workers, per_run = local_threads(workers)
    threads = cap_threads(threads or per_run)
    yield _local_backend(workers, threads)


def _local_backend(workers: int, threads: int):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from backprop_cli.many.runner import Backend
    from backprop_cli.many.task import access_problems, ignore_interrupts

    def make():
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited threads or BLAS state
        return ProcessPoolExecutor(workers, mp_context=context, initializer=ignore_interrupts)

    description = f"{workers} local worker(s), {threads} thread(s) per run"
    return Backend(make, threads, description=description, probe=access_problems, slots=workers)


@contextmanager
def _dask_backend(scheduler: str | None, scheduler_file: Path | None, threads: int, deadline_s: float):
    from concurrent.futures import CancelledError

    from backprop_cli.errors import UserError

    try:
        from distributed.scheduler import KilledWorker
    except ImportError:
        raise UserError(
            "--scheduler needs dask.distributed, which is not installed",
            fix="pip install 'backprop-cli[distributed]'",
        ) from None
    from backprop_cli.many.cluster import connect, parse_address, read_scheduler_file
    from backprop_cli.many.runner import Backend

    if scheduler_file is not None:
        address, where = read_scheduler_file(scheduler_file), str(scheduler_file)
    else:
        address, where = parse_address(scheduler), "--scheduler"
    client = connect(address, deadline_s, where)
    with client:
        workers = client.scheduler_info().get("workers", {})
        n = len(workers)
        yield Backend(
            lambda: client.get_executor(pure=False),
            threads,
            lost_errors=(KilledWorker, CancelledError),
            description=f"Dask cluster at {address} ({n} worker(s), {threads} thread(s) per run)",
            probe=lambda writable, readable: _probe(client, writable, readable),
            slots=sum(w.get("nthreads", 1) for w in workers.values()) or 1,
        )


def _probe(client, writable: list[str], readable: list[str]) -> list[str]:
    """Every worker checks that it can write the study and read the data: fail fast when not shared."""
    from backprop_cli.many.task import access_problems

    answers = client.run(access_problems, writable, readable)
    return [problem for problems in answers.values() for problem in problems]
