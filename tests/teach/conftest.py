"""The teaching verbs as users meet them: configs written to files, the CLI run as a real subprocess."""

from __future__ import annotations

from pathlib import Path

import pytest

from backprop_cli.config.load import load_config
from tests.cli.conftest import CONFIGS, ROOT, backprop, err, out  # noqa: F401  (re-exported for the tests)


def write_config(path: Path, layers: str, *, data: str, extra: str = "") -> Path:
    """A config file: `layers` is the YAML list under model.layers, one entry per line."""
    path.write_text(f"name: {path.stem}\nseed: 0\ndata: {data}\nmodel:\n  layers:\n{layers}{extra}")
    return path


@pytest.fixture
def mlp_config(tmp_path) -> Path:
    """digits (1, 8, 8) -> flatten -> dense 32 relu -> dense 10; batch 16, Adam."""
    layers = "    - {type: flatten}\n    - {type: dense, units: 32, activation: relu}\n    - {type: dense, units: 10}\n"
    extra = "optimizer: {type: adam, lr: 0.001}\ntraining: {epochs: 1, batch_size: 16}\n"
    return write_config(tmp_path / "mlp.yaml", layers, data="{dataset: digits, validation_split: 0.2}", extra=extra)


@pytest.fixture
def cnn_config(tmp_path) -> Path:
    """digits (1, 8, 8) -> conv 4x3x3 relu -> (4, 6, 6) -> maxpool 2 -> (4, 3, 3) -> flatten 36 -> dense 10; batch 8."""
    layers = (
        "    - {type: conv2d, filters: 4, kernel_size: 3, activation: relu}\n"
        "    - {type: maxpool2d, pool_size: 2}\n"
        "    - {type: flatten}\n"
        "    - {type: dense, units: 10}\n"
    )
    extra = "optimizer: {type: sgd, lr: 0.1}\ntraining: {epochs: 1, batch_size: 8}\n"
    return write_config(tmp_path / "cnn.yaml", layers, data="{dataset: digits, validation_split: 0.2}", extra=extra)


def config_of(path: Path, *overrides: str):
    return load_config(path, list(overrides)).config
