"""AdamW as the trainer builds it: decoupled decay reaches the weights, never biases or batchnorm's gamma/beta.

The optimizer's own tests check `decay_params` inside optim/; this checks what the run's setup passes.
With every gradient zero, one AdamW step leaves m = v = 0, so the only change is the decay:
W <- W (1 - lr wd), and nothing else may move.
"""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.config.load import build_config
from backprop_cli.config.yamlsafe import parse_yaml
from backprop_cli.train.setup import build_parts

CONFIG = """\
seed: 1
data: {dataset: blobs, n_samples: 60, validation_split: 0.0}
model:
  layers:
    - {type: dense, units: 6, activation: relu}
    - {type: batchnorm}
    - {type: dense, units: 3}
loss: cross_entropy
optimizer: {type: adamw, lr: 0.1, weight_decay: 0.5}
training: {epochs: 1, batch_size: 20, dtype: float64}
"""


@pytest.fixture
def parts():
    return build_parts(build_config(parse_yaml(CONFIG, "adamw.yaml")).config)


def test_the_trainers_adamw_decays_weights_and_nothing_else(parts):
    model, trainer = parts.model, parts.trainer
    model.flat_params[:] = np.linspace(0.5, 1.5, model.flat_params.size)  # biases, gamma and beta non-zero
    before = {name: p.copy() for name, p, _ in model.named_params()}
    model.flat_grads[:] = 0.0
    lr = 0.1
    trainer.optimizer.step([model.flat_params], [model.flat_grads], lr)  # exactly as Trainer.train_step calls it
    after = {name: p for name, p, _ in model.named_params()}
    decayed = {"0.W", "2.W"}
    for name in before:
        if name in decayed:
            np.testing.assert_allclose(after[name], before[name] * (1 - lr * 0.5), rtol=1e-12, err_msg=name)
        else:
            np.testing.assert_array_equal(after[name], before[name], err_msg=f"{name} must not decay")
    assert set(before) == {"0.W", "0.b", "1.gamma", "1.beta", "2.W", "2.b"}
