"""`--threads N` caps the BLAS pool the training runs on, though reading the config has loaded NumPy already."""

from __future__ import annotations

import json
import os
import subprocess
import sys

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


def _uncapped_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}  # nothing capped from outside


def _blas_threads(tmp_path, tiny_config, *extra) -> list[int]:
    argv = [sys.executable, "-c", PROBE, "train", str(tiny_config), "--quiet", "--runs-dir", str(tmp_path), *extra]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=_uncapped_env())
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stderr.splitlines() if line.startswith("BLAS "))
    return json.loads(line[5:])


def test_threads_1_caps_the_blas_pool_of_the_training(tmp_path, tiny_config):
    assert _blas_threads(tmp_path, tiny_config, "--threads", "1") == [1]


def test_without_threads_the_pool_keeps_the_size_numpy_alone_gives_it(tmp_path, tiny_config):
    """Without --threads the CLI leaves the pool as a plain `import numpy` has it: the cap is --threads' doing."""
    probe = "import json, numpy; from threadpoolctl import threadpool_info\n" \
            "print(json.dumps([lib['num_threads'] for lib in threadpool_info() if lib['user_api'] == 'blas']))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=_uncapped_env(),
                          timeout=60, check=True)  # fmt: skip
    alone = json.loads(done.stdout)
    assert _blas_threads(tmp_path, tiny_config) == alone
