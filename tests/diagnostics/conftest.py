"""Real subprocesses of the CLI, the example configs, and the test configs kept beside these tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import warm_process

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
# configs copied from the acceptance checks: the project's tests read nothing outside the project
TEST_CONFIGS = Path(__file__).resolve().parent / "configs"


def backprop(*args: str, code: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`backprop ARGS` in a fresh process (text output); `code` runs first in that process (to inject a bug)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "120", "OPENBLAS_NUM_THREADS": "1"}
    if code is None:
        return warm_process.run(args, text=True, env=env, timeout=timeout)  # a real process, started warm
    else:
        main = "import sys; from backprop_cli.cli import main; sys.argv = ['backprop', *sys.argv[1:]]; main()"
        command = [sys.executable, "-c", f"{code}\n{main}", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """Tiny matmuls only wait on BLAS threads, badly so on a busy machine (threadpoolctl is a bench extra)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(1, user_api="blas"):
        yield
