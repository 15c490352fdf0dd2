"""Gradient accumulation: k micro-batches then one optimizer step, equal to one step on the k·b batch."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backprop_cli.config.load import build_config
from backprop_cli.config.yamlsafe import parse_yaml
from backprop_cli.train.setup import build_parts

CONFIG = """\
seed: 5
data: {dataset: blobs, n_samples: 90, validation_split: 0.0}
model:
  layers:
    - {type: dense, units: 8, activation: tanh}
    - {type: dense, units: 3}
loss: {type: cross_entropy, label_smoothing: 0.1}
optimizer: {type: adam, lr: 0.05}
schedule: {type: cosine}
regularization: {l2: 0.01, grad_clip_norm: 0.5}
training: {epochs: 2, batch_size: %d, accumulate: %d, dtype: float64}
"""


def parts_for(batch_size: int, accumulate: int):
    return build_parts(build_config(parse_yaml(CONFIG % (batch_size, accumulate), "acc.yaml")).config)


@pytest.mark.parametrize("rows", [12, 10], ids=["3 full micro-batches", "4 + 4 + 2 rows"])
def test_k_micro_batches_make_the_step_of_one_batch_of_the_same_rows(rows):
    accumulated, whole = parts_for(4, 3).trainer, parts_for(12, 1).trainer
    np.testing.assert_array_equal(accumulated.model.flat_params, whole.model.flat_params)  # the same start
    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows, 2))
    y = rng.integers(0, 3, rows)
    losses = [t.train_step(x, y) for t in (accumulated, whole)]
    assert losses[0] == pytest.approx(losses[1], rel=1e-12)  # the batch mean of all rows (+ the l2 penalty)
    assert accumulated.last_grad_norm == pytest.approx(whole.last_grad_norm, rel=1e-12)  # clipped once, on the sum
    np.testing.assert_allclose(accumulated.model.flat_grads, whole.model.flat_grads, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(accumulated.model.flat_params, whole.model.flat_params, rtol=1e-12, atol=1e-15)
    assert accumulated.step == whole.step == 1 and accumulated.optimizer.t == 1


def test_an_epoch_has_one_optimizer_step_per_k_micro_batches_and_the_schedule_counts_them():
    trainer = parts_for(4, 3).trainer  # 90 rows: 23 micro-batches of 4, in ceil(90 / 12) = 8 steps
    assert len(trainer.loader) == math.ceil(90 / 12) == 8
    assert trainer.schedule.total == 2 * 8  # cosine reaches its floor at the last optimizer step
    trainer.begin_epoch()
    for xb, yb in trainer.epoch_batches():
        trainer.train_step(xb, yb)
    assert trainer.step == trainer.optimizer.t == 8
    assert trainer.sums.count == 90  # every row counted once
