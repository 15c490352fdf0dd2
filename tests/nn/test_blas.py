"""one_blas_thread: small layer passes run on one BLAS thread, large ones keep every thread."""

from __future__ import annotations

import pytest

from backprop_cli.nn.kernels.blas import SMALL_FLOPS, one_blas_thread

threadpoolctl = pytest.importorskip("threadpoolctl")


def blas_threads() -> int:
    # NumPy's BLAS: the one the layers' matmuls run on. Another BLAS that loads later in the process (numba's
    # first compile brings scipy's) is not the layers' and may keep its own count.
    found = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas" and "numpy" in i["filepath"]]
    return max(info["num_threads"] for info in found)


def test_a_small_pass_runs_on_one_thread_and_the_count_comes_back_afterwards():
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        before = blas_threads()
        with one_blas_thread(SMALL_FLOPS - 1):
            assert blas_threads() == 1
        assert blas_threads() == before


def test_a_large_pass_keeps_its_threads():
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        before = blas_threads()
        with one_blas_thread(SMALL_FLOPS):
            assert blas_threads() == before
