"""The CLI as users meet it: real processes of `python -m backprop_cli` (started warm: tests/warm_process.py),
stdout and stderr apart."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import warm_process

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"


def backprop(
    *args: str, stdin: bytes | None = None, cwd: Path | None = None, timeout: float = 120, env: dict | None = None
):
    """Run `backprop ARGS` as a user would; returns the CompletedProcess (text stderr, bytes stdout).
    `env` is added to this process's environment."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "120", **(env or {})}
    return warm_process.run(args, input=stdin, cwd=cwd, env=env, timeout=timeout)


def out(result) -> str:
    return result.stdout.decode()


def err(result) -> str:
    return result.stderr.decode()


@pytest.fixture
def tiny_config(tmp_path) -> Path:
    """A spirals MLP that trains in well under a second."""
    path = tmp_path / "tiny.yaml"
    path.write_text(
        "name: tiny\nseed: 7\n"
        "data: {dataset: spirals, validation_split: 0.2, n_samples: 200}\n"
        "model:\n  layers:\n"
        "    - {type: dense, units: 16, activation: relu}\n"
        "    - {type: dropout, rate: 0.1}\n"
        "    - {type: dense, units: 3}\n"
        "loss: cross_entropy\noptimizer: {type: adam, lr: 0.01}\n"
        "training: {epochs: 4, batch_size: 16}\n"
    )
    return path
