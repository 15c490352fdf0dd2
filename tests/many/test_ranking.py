"""Which figure ranks a trial, which trials count as having one, and how often a lost trial runs again."""

from __future__ import annotations

import json
from pathlib import Path

from reliability.helpers import in_process

from backprop_cli.many.study import read_plan
from backprop_cli.many.task import MAX_LOST, Task, run_task

from .conftest import IRIS, run_sweep_here

# Early stopping on val_loss with the best weights restored: iris with a large step overshoots after its
# best epoch, so the kept epoch is not the last one and the two records differ.
EARLY = """\
name: early
seed: 0
data: {dataset: iris, validation_split: 0.3}
model:
  layers:
    - {type: dense, units: 16, activation: tanh}
    - {type: dense, units: 3}
optimizer: {type: sgd, lr: 0.5}
training:
  epochs: 40
  batch_size: 8
  early_stopping: {monitor: val_loss, patience: 3, restore_best: true}
"""


def _records(run_dir: Path) -> dict[int, dict]:
    return {r["epoch"]: r for r in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines())}


def test_the_ranked_metric_is_the_record_of_the_epoch_whose_weights_the_run_keeps(tmp_path):
    (tmp_path / "early.yaml").write_text(EARLY)
    (tmp_path / "s.yaml").write_text("base: early.yaml\nparameters: {optimizer.lr: [0.5, 0.8]}\nmetric: val_accuracy\n")
    _, rows = run_sweep_here(tmp_path / "s.yaml", tmp_path / "runs")
    kept_differs = 0
    for row in rows:
        summary = json.loads((Path(row["run_dir"]) / "summary.json").read_text())
        records = _records(Path(row["run_dir"]))
        assert summary["status"] == "early_stopped" and summary["best_epoch"] < summary["epochs_run"]
        assert row["val_accuracy"] == records[summary["best_epoch"]]["val_accuracy"]
        assert row["val_loss"] == records[summary["best_epoch"]]["val_loss"] == summary["best"]["val_loss"]
        kept_differs += records[summary["epochs_run"]]["val_accuracy"] != row["val_accuracy"]
    assert kept_differs, "the last epoch's accuracy equals the kept one's: the test cannot tell them apart"


def _lose_worker(run_dir: Path, times: int) -> None:
    """`times` attempts that started and never ended, as a worker killed mid-run leaves them."""
    attempts = [{"host": "h", "pid": 1, "started": 0.0} for _ in range(times)]
    (run_dir / ".attempts.json").write_text(json.dumps(attempts))


def test_a_lost_trial_runs_again_exactly_as_often_as_documented(files, tmp_path):
    from backprop_cli.many.plans import new_sweep
    from backprop_cli.many.spec import load_sweep

    assert MAX_LOST == 2  # the README: "retried once; a second loss fails it"
    (files / "retry.yaml").write_text("base: iris.yaml\nparameters: {optimizer.lr: [0.01, 0.03]}\n")
    directory = new_sweep(load_sweep(files / "retry.yaml"), tmp_path, threads=1)
    once, twice = (directory / t.runs[0] for t in read_plan(directory).trials)
    _lose_worker(once, 1)
    _lose_worker(twice, 2)
    retried = run_task(Task(str(once), 1, str(directory / ".stop")))
    assert retried["status"] == "completed" and retried["attempts"] == 2
    given_up = run_task(Task(str(twice), 1, str(directory / ".stop")))
    assert given_up["status"] == "failed" and given_up["attempts"] == 3
    assert "lost 2 times" in given_up["error"] and not (twice / "metrics.jsonl").exists()


DIVERGING = IRIS.replace("{type: adam, lr: 0.01}", "{type: sgd, lr: 100000.0}")  # finite for a step or two, then NaN


def test_a_sweep_whose_every_trial_diverged_exits_1_and_names_no_best(tmp_path):
    assert DIVERGING != IRIS
    (tmp_path / "wild.yaml").write_text(DIVERGING)
    (tmp_path / "s.yaml").write_text("base: wild.yaml\nparameters: {optimizer.lr: [100000.0, 1000000.0]}\n")
    result = in_process("sweep", tmp_path / "s.yaml", "--workers", "1", "--runs-dir", tmp_path / "runs")
    assert result.returncode == 1, result.stderr
    assert "diverged" in result.stderr and "best" not in result.stderr
    assert "no trial produced val_loss" in result.stderr and "Traceback" not in result.stderr
    rows = [json.loads(line) for line in next((tmp_path / "runs").iterdir()).joinpath("results.jsonl").open()]
    assert [r["status"] for r in rows] == ["diverged", "diverged"] and all(r["val_loss"] is None for r in rows)


def test_a_diverged_trial_ranks_after_every_trial_that_produced_its_metric(tmp_path):
    from backprop_cli.many.results import ranked, trial_row

    def outcome(status: str, val_loss: float) -> dict:
        metrics = [{"epoch": 1, "val_loss": val_loss}]
        return {"status": status, "summary": {"epochs_run": 1}, "metrics": metrics, "run_dir": "r"}

    rows = [
        trial_row(0, {}, [outcome("diverged", 0.01)], "val_loss"),
        trial_row(1, {}, [outcome("completed", 0.5)], "val_loss"),
    ]
    assert rows[0]["val_loss"] is None
    assert [r["trial"] for r in ranked(rows, "val_loss", "min")] == [1, 0]
