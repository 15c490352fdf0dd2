"""Small real runs to draw, trained in-process once per module, and a reader for the pictures written."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from backprop_cli.config.load import load_config
from backprop_cli.train.session import RunOptions, run_training
from tests.cli.conftest import backprop, err, out  # noqa: F401  (re-exported for the tests)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

SPIRALS3 = """name: spirals3
seed: {seed}
data: {{dataset: spirals, classes: 3, validation_split: 0.2, n_samples: 150}}
model:
  layers:
    - {{type: dense, units: 16, activation: tanh}}
    - {{type: dense, units: 16, activation: relu}}
    - {{type: dense, units: 3}}
optimizer: {{type: adam, lr: 0.02}}
training: {{epochs: 2, batch_size: 32}}
"""

DIGITS_CNN = """name: digits-cnn
seed: 0
data: {dataset: digits, validation_split: 0.2}
model:
  layers:
    - {type: conv2d, filters: 4, kernel_size: 3, activation: relu}
    - {type: maxpool2d, pool_size: 2}
    - {type: conv2d, filters: 3, kernel_size: 2, activation: tanh}
    - {type: flatten}
    - {type: dense, units: 10}
optimizer: {type: adam, lr: 0.01}
training: {epochs: 1, batch_size: 64}
"""

ADDITIONS = """name: additions-attention
seed: 0
data: {dataset: additions, digits: 2, context: 12, n_samples: 400, validation_split: 0.1}
model:
  layers:
    - {type: embedding, dim: 8}
    - {type: positional, kind: learned}
    - {type: residual, layers: [{type: layernorm}, {type: attention, heads: 2, causal: true}]}
    - {type: dense, units: 13, per_step: true}
optimizer: {type: adam, lr: 0.01}
training: {epochs: 1, batch_size: 32}
"""

SINE = """name: sine
seed: 0
data: {dataset: sine, n_samples: 200, validation_split: 0.2}
model:
  layers:
    - {type: dense, units: 8, activation: tanh}
    - {type: dense, units: 1}
loss: mse
training: {epochs: 1, batch_size: 32}
"""


def train(tmp: Path, text: str, *overrides: str) -> Path:
    """Train the config `text` (written to a file in `tmp`) in this process; returns the run directory."""
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "config.yaml"
    path.write_text(text)
    config = load_config(path, list(overrides)).config
    return run_training(config, RunOptions(runs_dir=str(tmp / "runs"), threads=1)).run_dir


def read_png(path: Path) -> np.ndarray:
    """The image as (H, W, channels) floats, after checking it is a PNG that is not one flat colour."""
    from matplotlib.image import imread

    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = imread(path)
    assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 200
    assert float(image[..., :3].std()) > 0.05, "the picture is blank"
    return image
