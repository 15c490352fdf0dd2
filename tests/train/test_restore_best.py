"""restore_best: after an early-stopped run, what the user is shown comes from the best epoch's weights.

The run below stops at epoch 7 with its best validation loss at epoch 4 (patience 3), so the best and
the last weights score differently on the test split; the summary's test figures must be the best's.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from backprop_cli.runs.checkpoint import load_checkpoint
from tests.reliability.helpers import in_process as backprop

CONFIG = """\
name: es
seed: 3
data: {path: train.csv, target: species, test_path: test.csv, validation_split: 0.3}
model:
  layers:
    - {type: dense, units: 32, activation: relu}
    - {type: dense, units: 3}
loss: cross_entropy
optimizer: {type: adam, lr: 0.05}
training: {epochs: 60, batch_size: 16, dtype: float64, early_stopping: {patience: 3, restore_best: %s}}
"""


def train(tmp_path, restore_best: str):
    (tmp_path / "es.yaml").write_text(CONFIG % restore_best)
    result = backprop("train", "es.yaml", "--quiet", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    return summary


def evaluate(checkpoint) -> dict:
    result = backprop("eval", str(checkpoint), "--split", "test", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def run_dir_of(tmp_path):
    (run,) = (tmp_path / "runs").iterdir()
    return run


@pytest.fixture
def early_stopped(iris_files):
    summary = train(iris_files, "true")
    return summary, run_dir_of(iris_files)


def test_the_run_stops_after_its_best_epoch(early_stopped):
    summary, _ = early_stopped
    assert summary["status"] == "early_stopped"
    assert summary["best_epoch"] < summary["epochs_run"], "the scenario needs a best epoch before the last"


def test_summary_test_metrics_are_the_best_epochs(early_stopped):
    summary, run = early_stopped
    best = evaluate(run / "checkpoints" / "best.safetensors")
    last = evaluate(run / "checkpoints" / "last.safetensors")
    assert best["epoch"] == summary["best_epoch"]
    assert best["loss"] != pytest.approx(last["loss"], rel=1e-6), "best and last must differ here"
    assert summary["test"]["loss"] == pytest.approx(best["loss"], rel=1e-9)
    assert summary["test"]["accuracy"] == pytest.approx(best["accuracy"])


def test_eval_of_the_run_scores_the_best_epoch(early_stopped):
    summary, run = early_stopped
    scored = evaluate(run)
    assert scored["epoch"] == summary["best_epoch"]
    assert scored["loss"] == pytest.approx(summary["test"]["loss"], rel=1e-9)


def test_best_checkpoint_holds_the_best_epochs_metrics_and_weights_apart_from_last(early_stopped):
    summary, run = early_stopped
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    best_line = next(line for line in lines if line["epoch"] == summary["best_epoch"])
    assert summary["best"]["val_loss"] == pytest.approx(best_line["val_loss"], rel=1e-12)
    assert min(line["val_loss"] for line in lines) == pytest.approx(best_line["val_loss"], rel=1e-12)
    best_w = load_checkpoint(run / "checkpoints" / "best.safetensors").tensors["model.0.W"]
    last_w = load_checkpoint(run / "checkpoints" / "last.safetensors").tensors["model.0.W"]
    assert not np.array_equal(best_w, last_w)


def test_without_restore_best_the_summary_scores_the_last_weights(iris_files):
    summary = train(iris_files, "false")
    run = run_dir_of(iris_files)
    last = evaluate(run / "checkpoints" / "last.safetensors")
    assert summary["test"]["loss"] == pytest.approx(last["loss"], rel=1e-9)
