"""The epoch's train_loss is the mean over its rows, not the mean of its batch means.

110 rows in batches of 32 give 32, 32, 32 and a short batch of 14. With a learning rate so small that
the weights cannot move measurably (1e-12 against weights of order 0.1), every batch is scored by the
same network, so the epoch's mean over rows equals the loss of that network on the whole training
split, which `eval --split train` computes independently in one pass.
"""

from __future__ import annotations

import json

import pytest

from tests.reliability.helpers import in_process as backprop

CONFIG = """\
seed: 5
data: {path: train.csv, target: species, validation_split: 0.0}
model:
  layers:
    - {type: dense, units: 8, activation: tanh}
    - {type: dense, units: 3}
loss: cross_entropy
optimizer: {type: sgd, lr: 1.0e-12}
regularization: {l2: 0.0}
training: {epochs: 1, batch_size: 32, dtype: float64}
"""


def test_train_loss_is_the_row_weighted_mean_over_the_epoch(iris_files):
    (iris_files / "loss.yaml").write_text(CONFIG)
    trained = backprop("train", "loss.yaml", "--quiet", cwd=iris_files)
    assert trained.returncode == 0, trained.stderr
    run = iris_files / trained.stdout.strip()
    (record,) = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    scored = backprop("eval", str(run), "--split", "train", "--json")
    assert scored.returncode == 0, scored.stderr
    whole = json.loads(scored.stdout)
    assert whole["n"] == 110
    assert record["train_loss"] == pytest.approx(whole["loss"], rel=1e-9)
    assert record["train_accuracy"] == pytest.approx(whole["accuracy"], rel=1e-12)
