"""Run a compiled kernel over the cores: its leading axis cut into a fixed partition, one part a thread.

The image kernels (kernels/conv.py) compute each channel on its own, attention's softmax each row of
scores, GELU and tanh each element: no output entry depends on another entry of the leading axis, and
each entry is computed by one thread in the kernel's own order. So cutting that axis into parts
changes no bit of the result, whatever the thread count or the scheduling (tests/nn/
test_conv_kernels.py holds a split call equal to a whole one). The kernels release the
GIL (numba's nogil), so the parts run at once: the calling thread does the first, a pool the rest.

A recurrent layer cuts its batch the same way (nn/recurrent/bptt.py): its examples are independent
through all the steps, so each thread runs the whole recurrence for its rows (`in_parallel`).

The thread count is the one BLAS runs with: `backprop train --threads N` sets OMP_NUM_THREADS and
OPENBLAS_NUM_THREADS before NumPy starts; without them, every core.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

MIN_BYTES = 1 << 18  # below ~256 KB a hand-off (~20-50 µs) costs more than the second core saves
_pools: dict[int, ThreadPoolExecutor] = {}


def kernel_threads() -> int:
    """The threads a kernel may use: BLAS's cap from the environment, else the CPU count."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        value = os.environ.get(var, "")
        if value.isdecimal() and int(value) > 0:
            return int(value)
    return os.cpu_count() or 1


def bounds(n: int, parts: int) -> list[tuple[int, int]]:
    """[lo, hi) of `parts` near-equal consecutive slices of range(n): a fixed partition."""
    return [(n * i // parts, n * (i + 1) // parts) for i in range(parts)]


def split_rows(kernel, whole: tuple[int, ...] = ()):
    """`kernel` called on a fixed partition of its arrays' leading axis, the parts on as many threads.

    Every array argument has that axis first, with the same length, but those at the positions in
    `whole` (a layer's gamma, say), which each part gets entire; scalars pass through whole too."""

    def run(*args):
        split = [isinstance(a, np.ndarray) and i not in whole for i, a in enumerate(args)]
        arrays = [a for a, cut in zip(args, split) if cut]
        n = arrays[0].shape[0]
        parts = min(kernel_threads(), n, max(1, sum(a.nbytes for a in arrays) // MIN_BYTES))
        if parts <= 1:
            return kernel(*args)
        pieces = [[a[lo:hi] if cut else a for a, cut in zip(args, split)] for lo, hi in bounds(n, parts)]
        in_parallel([(kernel, piece) for piece in pieces])
        return None

    run.__wrapped__ = kernel  # the compiled kernel itself (its signatures: what has been compiled)
    return run


def in_parallel(calls: list[tuple]) -> list:
    """Run each (function, args): the first on this thread, the rest at once on a pool; their results in order."""
    if len(calls) == 1:
        fn, args = calls[0]
        return [fn(*args)]
    pool = _pools.get(len(calls))
    if pool is None:
        pool = _pools[len(calls)] = ThreadPoolExecutor(len(calls) - 1, thread_name_prefix="backprop-kernel")
    futures = [pool.submit(fn, *args) for fn, args in calls[1:]]
    first = calls[0][0](*calls[0][1])
    return [first, *(future.result() for future in futures)]  # result() re-raises a part's error here
