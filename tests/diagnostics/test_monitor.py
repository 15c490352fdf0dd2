"""The gradient-flow monitor in training: per-layer statistics in metrics.jsonl, warnings in summary.json."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from backprop_cli.config.load import load_config
from backprop_cli.nn.model import build_model
from backprop_cli.runs.metrics_log import read_metrics
from backprop_cli.train import monitor as monitor_module
from backprop_cli.train.monitor import GradientMonitor
from backprop_cli.train.session import RunOptions, run_training
from tests.diagnostics.conftest import CONFIGS, backprop

STATS = {"grad_norm", "weight_norm", "update_ratio", "dead_fraction", "saturated_fraction"}


def train(config_name, tmp_path, *overrides):
    config = load_config(CONFIGS / f"{config_name}.yaml", list(overrides)).config
    result = run_training(config, RunOptions(runs_dir=str(tmp_path / "runs"), threads=1))
    return result.summary, read_metrics(result.run_dir / "metrics.jsonl")


def test_every_epoch_record_holds_the_five_statistics_of_each_layer_with_parameters(tmp_path):
    summary, records = train("digits", tmp_path, "training.epochs=2")
    assert len(records) == 2 and summary["warnings"] == []
    for record in records:
        assert set(record["layers"]) == {"0", "1", "3", "4"}  # dense, batchnorm, dense(relu), dense
        assert all(set(stats) == STATS for stats in record["layers"].values())
        assert record["layers"]["1"]["dead_fraction"] is not None  # the relu after the batchnorm
        assert 0 < record["layers"]["3"]["update_ratio"] < 1


@pytest.mark.parametrize(
    "broken, fixed, words",
    [("deep-sigmoid", "deep-relu-he", ("vanishing",)), ("zeros-init", "zeros-init-fixed", ("identical", "symmetry"))],
)
def test_the_broken_examples_warn_and_their_fixed_twins_do_not(broken, fixed, words, tmp_path):
    warned, _ = train(broken, tmp_path)
    assert len(warned["warnings"]) == 1 and all(w in warned["warnings"][0] for w in words), warned["warnings"]
    clean, records = train(fixed, tmp_path)
    assert clean["warnings"] == [] and not any("warnings" in r for r in records)


def test_statistics_are_taken_once_per_epoch_not_per_step(tmp_path, monkeypatch):
    calls = []
    real = monitor_module.layer_stats
    monkeypatch.setattr(monitor_module, "layer_stats", lambda *a: calls.append(1) or real(*a))
    summary, _ = train("digits", tmp_path, "training.epochs=3")
    assert summary["step"] == 69 and len(calls) == 3


def test_every_n_steps_adds_samples_between_epoch_ends(tmp_path):
    _, records = train("digits", tmp_path, "training.epochs=1", "diagnostics.monitor_every_n_steps=10")
    assert [s["step"] for s in records[0]["layers_by_step"]] == [10, 20]  # 23 steps: 23 is the epoch's own
    assert set(records[0]["layers_by_step"][0]["layers"]["0"]) == STATS


def test_monitor_false_leaves_the_records_as_they_were(tmp_path):
    summary, records = train("zeros-init", tmp_path, "training.epochs=1", "diagnostics.monitor=false")
    assert "layers" not in records[0] and summary["warnings"] == []


def test_warnings_false_keeps_the_statistics_but_stays_quiet(tmp_path):
    summary, records = train("zeros-init", tmp_path, "training.epochs=1", "diagnostics.warnings=false")
    assert "layers" in records[0] and summary["warnings"] == []


def test_the_monitor_samples_the_last_step_of_an_epoch_with_the_update_ratio_of_that_step(rng):
    model = build_model([{"type": "dense", "units": 2, "activation": "relu"}], (3,), rng, np.float64)
    trainer = SimpleNamespace(model=model, loader=[None] * 3, step=0, batch_in_epoch=0, status="running",
                              last_grad_norm=1.0)  # fmt: skip
    monitor = GradientMonitor()
    monitor.on_train_begin(trainer)
    monitor.on_epoch_begin(trainer)
    for _ in range(3):
        model.forward(rng.standard_normal((4, 3)), training=True)
        model.flat_params += 0.01  # "the optimizer step"
        trainer.step += 1
        trainer.batch_in_epoch += 1
        monitor.on_batch_end(trainer, 0.5)
    logs = {"grad_norm": 1.0}
    monitor.on_epoch_end(trainer, logs)
    params = np.concatenate([p.ravel() for _, p, _ in model.named_params()])  # W and b: 8 numbers
    expected = 0.01 * np.sqrt(params.size) / np.linalg.norm(params)  # each moved by 0.01 in the last step
    assert np.isclose(logs["layers"]["0"]["update_ratio"], expected)


def test_the_cli_prints_each_warning_once_and_summary_json_keeps_them(tmp_path):
    result = backprop("train", str(CONFIGS / "zeros-init.yaml"), "--runs-dir", str(tmp_path), "--set",
                      "training.epochs=3")  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(lines) == 1 and "identical units" in lines[0]
    summary = json.loads((tmp_path / result.stdout.strip().rsplit("/", 1)[-1] / "summary.json").read_text())
    assert summary["warnings"] == [lines[0].removeprefix("warning: ")]
