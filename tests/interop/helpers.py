"""Shared by the interop tests: the real CLI as a subprocess, and the bundled digits with a test split."""

from __future__ import annotations

import io
import json
import os
import subprocess
from pathlib import Path

import numpy as np

from backprop_cli.data.bundled import load_digits
from tests import warm_process
from tests.ci_guard import needs_installed

N_TRAIN = 1500  # of the 1797 digits; the other 297 are the test split


def backprop(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`backprop ARGS` as a user runs it: stdout bytes, stderr text; raises nothing."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return warm_process.run(args, cwd=cwd, env=env, timeout=timeout)  # a real process, started warm


def ok(result: subprocess.CompletedProcess) -> str:
    """stdout as text, after checking the command succeeded (stderr shown when it did not)."""
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode().strip()


def write_digits_npz(path: Path) -> Path:
    """The bundled digits as images (N, 1, 8, 8) in their file units 0..16, with a fixed test split."""
    raw = load_digits(None, 0)
    x, y = raw.x_train.astype(np.float64), raw.y_train
    np.savez(path, x_train=x[:N_TRAIN], y_train=y[:N_TRAIN], x_test=x[N_TRAIN:], y_test=y[N_TRAIN:])
    return path


def needs_onnx():
    """A module's mark: skip where onnx or onnxruntime is not installed, found without importing them
    (~1.3 s, which every worker would pay at collection); the tests that run import them."""
    return needs_installed("onnx", "onnxruntime")  # with CI=true, tests/ci_guard.py fails the skip


def train_run(tmp: Path, name: str, config: str) -> Path:
    """Write CONFIG as tmp/<name>.yaml, train it with `backprop train`, return the run directory."""
    path = tmp / f"{name}.yaml"
    path.write_text(config)
    return Path(ok(backprop("train", path, "--quiet", "--runs-dir", tmp / "runs", "--threads", "1")))


def predict_npy(run: Path, rows: np.ndarray, tmp: Path, *flags: str) -> np.ndarray:
    """What `backprop predict RUN rows.npy --format npy [flags]` prints, as an array."""
    source = tmp / "rows.npy"
    np.save(source, rows)
    result = backprop("predict", run, source, "--format", "npy", *flags)
    assert result.returncode == 0, result.stderr.decode()
    return np.load(io.BytesIO(result.stdout))


def eval_json(run: Path, *flags: str) -> dict:
    return json.loads(ok(backprop("eval", run, "--json", *flags)))
