"""Small products on one BLAS thread: below a few MFLOP a thread hand-off costs more than it saves."""

from __future__ import annotations

import contextlib
import functools

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
