"""Small products on one BLAS thread: below a few MFLOP a thread hand-off costs more than it saves."""

from __future__ import annotations

import contextlib
import functools

import numpy as np

SMALL_FLOPS = 100_000_000  # a layer pass below this (~2 ms on one core) is not worth a second BLAS thread


@functools.cache
def _blas_controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


def one_blas_thread(flops: float = 0.0):
    """Run the block on one BLAS thread when its work is below SMALL_FLOPS.

    A recurrent layer's per-step products (N, H) @ (H, G*H) and a small conv1d's im2col product are so
    small that handing half of each to a second thread costs more than the work: backward of a 32-unit
    LSTM (batch 64, 50 steps) took 15 ms on one thread and 180 ms on two on a busy 2-core machine, a
    small conv1d net 15 ms against 310 ms. Needs threadpoolctl (the `fast` extra); without it nothing
    changes. About 0.1 ms per call.
    """
    controller = _blas_controller()
    if controller is None or flops >= SMALL_FLOPS:
        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api="blas")


def warm_up(dtype) -> None:
    """One 512 x 512 product in `dtype`, before a timed loop; once a process and dtype (the state it sets is
    the process's: the next training in the same process, a test's say, need not pay for it again)."""
    _warm_up(np.dtype(dtype))


@functools.cache
def _warm_up(dtype: np.dtype) -> None:
    """One 512 x 512 product in `dtype`. OpenBLAS (0.3.31 with its Haswell kernels, on
    this project's AMD hosts) runs every product with an inner dimension near 256 at a third of its rate
    (9.5 against 31 GFLOP/s on one core, measured 40 calls on) until the process has run one product of
    about 300 x 300 x 300 or more; a transformer's per-step layers are all such products (its step: 104
    -> 84 ms on one thread, bench/README.md). About 8 ms."""
    a = np.ones((512, 512), dtype=dtype)
    np.matmul(a, a)
