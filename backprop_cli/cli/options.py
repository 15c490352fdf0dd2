"""Option parsing shared by the verbs."""

from __future__ import annotations

import os

from backprop_cli.train.fpenv import subnormals_flushed  # noqa: F401  (the verbs import it from here)

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def cap_threads(threads: int | None) -> int | None:
    """Cap the BLAS threads; effective only before NumPy is first imported, which the verbs ensure."""
    if threads is None:
        current = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
        return int(current) if current and current.isdecimal() else os.cpu_count()
    for var in THREAD_VARS:
        os.environ[var] = str(threads)
    return threads
