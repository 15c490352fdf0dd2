"""`--threads N` caps the BLAS pool the training runs on, though reading the config has loaded NumPy already."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("threadpoolctl")

# Runs `backprop train` in a fresh process and prints the BLAS pool sizes seen when the training starts.
PROBE = """
import json, runpy, sys
import backprop_cli.train.session as session
from threadpoolctl import threadpool_info

real = session.run_training
def spy(*args, **kwargs):
    seen = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    print("BLAS " + json.dumps(seen), file=sys.stderr)
    return real(*args, **kwargs)
session.run_training = spy
sys.argv = ["backprop", *sys.argv[1:]]
runpy.run_module("backprop_cli", run_name="__main__")
"""


def _blas_threads(tmp_path, tiny_config, *extra) -> list[int]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}  # nothing capped from outside
    argv = [sys.executable, "-c", PROBE, "train", str(tiny_config), "--quiet", "--runs-dir", str(tmp_path), *extra]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stderr.splitlines() if line.startswith("BLAS "))
    return json.loads(line[5:])


def test_threads_1_caps_the_blas_pool_of_the_training(tmp_path, tiny_config):
    assert _blas_threads(tmp_path, tiny_config, "--threads", "1") == [1]


def test_without_threads_the_pool_keeps_its_size(tmp_path, tiny_config):
    """The check above can fail: on a machine of several cores the pool is larger when nothing caps it."""
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: the pool has one thread either way")
    assert _blas_threads(tmp_path, tiny_config)[0] > 1
