"""Networks trained once per session on the bundled digits (with a fixed test split), for the export tests."""

from __future__ import annotations

import numpy as np
import pytest

from .helpers import train_run, write_digits_npz

MLP = """
seed: 0
data: {{path: {data}, validation_split: 0.2}}
model:
  layers:
    - {{type: dense, units: 32}}
    - {{type: batchnorm}}
    - {{type: relu}}
    - {{type: dropout, rate: 0.1}}
    - type: residual
      layers: [{{type: dense, units: 32, activation: gelu}}, {{type: dense, units: 32, activation: tanh}}]
    - {{type: residual, layers: [{{type: dense, units: 16, activation: elu}}]}}
    - {{type: dense, units: 10}}
optimizer: {{type: adam, lr: 0.005}}
training: {{epochs: 3, batch_size: 64}}
"""
CNN = """
seed: 0
data: {{path: {data}, validation_split: 0.2}}
model:
  layers:
    - {{type: conv2d, filters: 8, kernel_size: 3, padding: same, activation: relu}}
    - {{type: batchnorm}}
    - {{type: maxpool2d, pool_size: 2}}
    - {{type: residual, layers: [{{type: conv2d, filters: 8, kernel_size: 3, padding: 1, activation: leaky_relu}}]}}
    - {{type: conv2d, filters: 12, kernel_size: 2, stride: 2, padding: same, activation: sigmoid}}
    - {{type: avgpool2d, pool_size: 2, stride: 1}}
    - {{type: flatten}}
    - {{type: dense, units: 10}}
optimizer: {{type: adam, lr: 0.01}}
training: {{epochs: 3, batch_size: 64}}
"""


@pytest.fixture(scope="session")
def digits(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("digits")
    path = write_digits_npz(tmp / "digits.npz")
    return tmp, path, np.load(path)


@pytest.fixture(scope="session")
def digits_runs(digits):
    """{"mlp": run, "cnn": run}: an MLP with batchnorm and residual blocks, a CNN, a few epochs each."""
    tmp, path, _ = digits
    return {name: train_run(tmp, name, config.format(data=path)) for name, config in (("mlp", MLP), ("cnn", CNN))}
