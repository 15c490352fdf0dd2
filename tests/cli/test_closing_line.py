"""The closing line of `backprop train` says what a user looks for: a classifier's validation accuracy at
its best epoch, and `completed` when the last configured epoch ran, whatever early stopping thought of it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.reliability.helpers import in_process

ROOT = Path(__file__).resolve().parents[2]


def _train(tmp_path, *sets):
    args = ["train", ROOT / "configs" / "iris.yaml", "--json"]
    for item in sets:
        args += ["--set", item]
    return in_process(*args, cwd=tmp_path)


def test_a_classifiers_closing_line_shows_its_best_epochs_validation_accuracy(tmp_path):
    result = _train(tmp_path, "training.epochs=3")
    assert result.returncode == 0, result.stderr
    closing = result.stderr.strip().splitlines()[-1]
    summary = json.loads(result.stdout)
    records = [json.loads(line) for line in (Path(tmp_path) / summary["run_dir"] / "metrics.jsonl").open()]
    best = next(r for r in records if r["epoch"] == summary["best_epoch"])
    assert f"val_accuracy={best['val_accuracy']:.4f}" in closing, closing


def test_patience_running_out_on_the_last_epoch_is_a_completed_run(tmp_path):
    # patience 0 and a min_delta no gain can reach: epoch 2 of 2 is the first that does not improve
    result = _train(
        tmp_path, "training.epochs=2", "training.early_stopping={monitor: val_loss, patience: 0, min_delta: 10}"
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["status"], summary["epochs_run"], summary["stop_reason"]) == ("completed", 2, None)
    assert "status=completed epochs=2/2" in result.stderr
