"""Each pytest-xdist worker runs with its share of the cores (tests/worker_threads.py): BLAS, the kernels and the
processes it starts see the same cap."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from backprop_cli.cli.backends import local_threads
from backprop_cli.nn.kernels.threads import kernel_threads
from tests import worker_threads

pytestmark = pytest.mark.skipif(worker_threads.CAP is None, reason="not an xdist worker, or capped from outside")


def test_a_worker_runs_blas_and_the_kernels_on_its_share_of_the_cores():
    from threadpoolctl import threadpool_info

    share = local_threads(int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))[1]
    assert worker_threads.CAP == share
    assert kernel_threads() == share
    assert {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"} == {share}


def test_a_process_the_worker_starts_inherits_the_share():
    probe = "from threadpoolctl import threadpool_info; import numpy; print(threadpool_info()[0]['num_threads'])"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert int(out) == worker_threads.CAP
