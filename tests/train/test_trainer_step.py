"""One training step as the trainer takes it: what it counts, what it runs in training mode, what it reports.

Mutation testing (README, "Development") showed that these held only through slow CLI tests outside the
train/ unit tests, or not at all: a step counted twice, dropout off while training, the penalty
subtracted from the reported loss, a resumed best epoch forgotten, a tie counted as an improvement.
"""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.config.load import build_config
from backprop_cli.config.yamlsafe import parse_yaml
from backprop_cli.train.improvement import Improvement
from backprop_cli.train.setup import build_parts

BASE = """\
seed: 2
data: {dataset: blobs, n_samples: 90, validation_split: 0.0}
model:
  layers:
    - {type: dense, units: 16, activation: tanh}
    - {type: dropout, rate: %s}
    - {type: dense, units: 3}
loss: cross_entropy
optimizer: {type: sgd, lr: %s}
schedule: {type: cosine}
regularization: {l2: %s}
training: {epochs: 2, batch_size: 20, dtype: float64}
"""


def parts_for(rate=0.0, lr=0.1, l2=0.0):
    return build_parts(build_config(parse_yaml(BASE % (rate, lr, l2), "step.yaml")).config)


def test_every_step_is_counted_once_and_the_schedule_sees_the_count():
    parts = parts_for()
    trainer = parts.trainer
    trainer.begin_epoch()
    for i, (xb, yb) in enumerate(trainer.epoch_batches()):
        trainer.train_step(xb, yb)
        assert trainer.step == i + 1 and trainer.batch_in_epoch == i + 1
        assert trainer.lr == trainer.schedule.lr_at(i, 0)
    assert trainer.step == len(trainer.loader) == 5  # 90 rows in batches of 20
    assert trainer.lr < parts.config.optimizer.lr  # cosine has started to decay: the step reached it


def test_a_training_step_runs_dropout_and_scoring_does_not():
    trainer = parts_for(rate=0.9, lr=1e-12).trainer
    trainer.begin_epoch()
    xb, yb = next(iter(trainer.epoch_batches()))
    xb, yb = xb.copy(), yb.copy()
    step_loss = trainer.train_step(xb, yb)
    clean_loss = trainer.loss.forward(trainer.model.forward(xb, training=False), yb)
    assert step_loss != pytest.approx(clean_loss, rel=1e-3)


def test_the_reported_step_loss_adds_the_l2_penalty():
    l2 = 0.5
    trainer = parts_for(lr=1e-12, l2=l2).trainer
    model = trainer.model
    trainer.begin_epoch()
    xb, yb = next(iter(trainer.epoch_batches()))
    xb, yb = xb.copy(), yb.copy()
    data_loss = trainer.loss.forward(model.forward(xb, training=False), yb)
    penalty = 0.5 * l2 * float(np.sum(model.flat_weights**2))  # 1/2 l2 |W|^2 over weights, not biases
    assert trainer.train_step(xb, yb) == pytest.approx(data_loss + penalty, rel=1e-9)
    assert penalty > 0.1 * data_loss


@pytest.mark.parametrize(
    "monitor, min_delta, values, improved",
    [
        ("val_loss", 0.0, [1.0, 1.0], [True, False]),  # a tie is no improvement
        ("val_loss", 0.1, [1.0, 0.95, 0.85], [True, False, True]),
        ("val_accuracy", 0.0, [0.9, 0.9], [True, False]),
        ("val_accuracy", 0.1, [0.5, 0.55, 0.65], [True, False, True]),
        ("val_accuracy", 0.1, [0.5, 0.45], [True, False]),  # worse is never better, min_delta or not
    ],
)
def test_improvement_needs_to_beat_the_best_by_more_than_min_delta(monitor, min_delta, values, improved):
    tracker = Improvement(monitor, min_delta=min_delta)
    assert [tracker.update(v, epoch) for epoch, v in enumerate(values, start=1)] == improved


def test_a_restored_tracker_keeps_its_best_epoch():
    tracker = Improvement("val_loss")
    tracker.update(0.5, 3)
    restored = Improvement("val_loss")
    restored.load_state_dict(tracker.state_dict())
    assert (restored.best, restored.best_epoch) == (0.5, 3)
    assert restored.update(0.6, 4) is False and restored.best_epoch == 3
