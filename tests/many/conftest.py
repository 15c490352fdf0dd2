"""Sweeps and cross-validations as users run them: `backprop sweep|cv` processes, a real local process
pool, and a real Dask scheduler with two worker processes on 127.0.0.1 started by the tests."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from reliability.helpers import backprop, environment

from tests.environment import restore

# Iris in a fraction of a second. The grid's learning rate of 1e5 passes every check made before a run
# (train's own pre-flight, on every trial) and diverges at run time: trials that fail late.
IRIS = """\
name: iris
seed: 0
data: {dataset: iris, validation_split: 0.2}
model:
  layers:
    - {type: dense, units: 8, activation: relu}
    - {type: dense, units: 3}
optimizer: {type: adam, lr: 0.01}
training: {epochs: 4, batch_size: 16}
"""
GRID = """\
base: iris.yaml
method: grid
parameters:
  optimizer.type: [sgd, momentum]
  optimizer.lr: [0.003, 0.01, 1.0e+5]
metric: val_loss
"""
# ~700 steps an epoch (a third of a second): long enough to signal or kill a worker inside a trial.
DIGITS = """\
name: digits
seed: 3
data: {dataset: digits, validation_split: 0.2}
model:
  layers:
    - {type: dense, units: 32, activation: relu}
    - {type: dropout, rate: 0.1}
    - {type: dense, units: 10}
optimizer: {type: adam, lr: 0.003}
schedule: {type: cosine}
training: {epochs: 6, batch_size: 2}
"""
SLOW = """\
base: digits.yaml
parameters:
  optimizer.lr: [0.003, 0.001]
metric: val_accuracy
"""


# Dropout, shuffling and a cosine schedule over the run's epochs: a rung that paused the run, or
# resumed it with another epoch count, would show in the bits.
NOISY = """\
name: noisy
seed: 1
data: {dataset: iris, validation_split: 0.2}
model:
  layers:
    - {type: dense, units: 12, activation: relu}
    - {type: dropout, rate: 0.2}
    - {type: dense, units: 3}
optimizer: {type: adam, lr: 0.01}
schedule: {type: cosine}
training: {epochs: 50, batch_size: 16}
"""
HALVING = """\
base: noisy.yaml
method: grid
parameters:
  optimizer.lr: [0.001, 0.003, 0.01, 0.03]
metric: val_loss
schedule: {type: successive_halving, min_epochs: 1, max_epochs: 4, reduction_factor: 2}
"""


@pytest.fixture(scope="session")
def files(tmp_path_factory) -> Path:
    """A folder with the configs and sweep files above."""
    folder = tmp_path_factory.mktemp("sweeps")
    texts = {"iris.yaml": IRIS, "grid.yaml": GRID, "digits.yaml": DIGITS, "slow.yaml": SLOW}
    for name, text in {**texts, "noisy.yaml": NOISY, "halving.yaml": HALVING}.items():
        (folder / name).write_text(text)
    return folder


def sweep(*args, timeout: float = 180):
    """`backprop sweep ARGS --json` to completion."""
    return backprop("sweep", *args, "--json", timeout=timeout, env=environment())


def trials_of(result) -> list[dict]:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["trials"]


def sweep_dir(runs_dir: Path) -> Path:
    (found,) = [p for p in Path(runs_dir).iterdir() if p.is_dir()]
    return found


def by_trial(trials: list[dict]) -> dict[int, dict]:
    return {t["trial"]: t for t in trials}


@pytest.fixture(scope="session")
def local_slow(files, tmp_path_factory) -> Path:
    """The slow sweep run start to end on the local process pool: the reference for the others."""
    runs = tmp_path_factory.mktemp("local-slow")
    trials_of(sweep(files / "slow.yaml", "--workers", "2", "--runs-dir", runs))
    return sweep_dir(runs)


@pytest.fixture(scope="module")
def dask_cluster():
    """A real Dask scheduler and two worker processes (each with its nanny) on 127.0.0.1."""
    distributed = pytest.importorskip("distributed")
    before = dict(os.environ)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        restore(before)  # the nannies set their workers' variables in this process (tests/environment.py)
        yield cluster
    restore(before)


def thread_backend():
    """A real executor in this process: one thread, so a study's runs are run in turn and fast (no
    interpreter start-up per worker); the process pool and the Dask cluster are tested through the CLI."""
    from concurrent.futures import ThreadPoolExecutor

    from backprop_cli.many.runner import Backend

    return Backend(lambda: ThreadPoolExecutor(1), threads=1, description="1 thread")


def run_sweep_here(sweep_file: Path, runs_dir: Path, overrides: tuple[str, ...] = ()) -> tuple[Path, list[dict]]:
    """Create and run a sweep through the library, in this process: (its directory, its rows); `overrides`
    as `sweep --set` gives them."""
    import threading

    from backprop_cli.many.execute import run_study
    from backprop_cli.many.plans import new_sweep
    from backprop_cli.many.spec import load_sweep

    directory = new_sweep(load_sweep(sweep_file, overrides), runs_dir, threads=1)
    rows, _ = run_study(directory, thread_backend(), threading.Event())
    return directory, rows
