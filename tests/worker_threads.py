"""Each pytest-xdist worker gets its share of the cores for BLAS and the kernels' threads, as a sweep's local
pool gives each of its runs (cli/backends.local_threads). Two workers on two cores that each ran two threads
made them wait on each other: the suite took 4 min 48 s, against 4 min 20 s capped. A cap already in the
environment is kept. Imported by tests/conftest.py before NumPy loads; the processes the tests start inherit
the cap through the environment, as a sweep's workers do."""

from __future__ import annotations

import os

from backprop_cli.cli.backends import local_threads
from backprop_cli.cli.options import THREAD_VARS, cap_threads


def share_of_the_cores() -> int | None:
    """Cap this worker at cores // workers and return the cap; None outside xdist or when capped from outside."""
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers is None or any(os.environ.get(var) for var in THREAD_VARS):
        return None
    return cap_threads(local_threads(int(workers))[1])


CAP = share_of_the_cores()
