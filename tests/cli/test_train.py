"""`backprop train`: stdout holds only the result, stderr the progress; the run directory is whole."""

from __future__ import annotations

import json
import re

from safetensors.numpy import load_file

from tests.cli.conftest import CONFIGS, backprop, err, out

RUN_FILES = (
    "config.yaml",
    "metrics.jsonl",
    "summary.json",
    "checkpoints/last.safetensors",
    "checkpoints/best.safetensors",
)


def train(config, tmp_path, *extra):
    result = backprop("train", str(config), "--runs-dir", str(tmp_path / "runs"), *extra)
    assert result.returncode == 0, err(result)
    return result


def test_train_prints_only_the_run_directory_and_writes_every_file(tiny_config, tmp_path):
    result = train(tiny_config, tmp_path, "--quiet")
    lines = out(result).splitlines()
    assert len(lines) == 1
    run = tmp_path / "runs" / lines[0].rsplit("/", 1)[-1]
    assert re.fullmatch(r"tiny-\d{8}-\d{6}-[0-9a-f]{4}", run.name)
    for name in RUN_FILES:
        assert (run / name).stat().st_size > 0, name
    assert err(result) == ""  # --quiet: nothing but the result


def test_metrics_hold_one_record_per_epoch_with_the_documented_keys(tiny_config, tmp_path):
    run = out(train(tiny_config, tmp_path, "--quiet")).strip()
    records = [json.loads(line) for line in open(f"{run}/metrics.jsonl")]
    assert [r["epoch"] for r in records] == [1, 2, 3, 4]
    for key in ("step", "lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "epoch_time_s", "grad_norm"):
        assert all(key in r for r in records), key
    summary = json.load(open(f"{run}/summary.json"))
    assert summary["status"] == "completed" and summary["epochs_run"] == 4


def test_json_prints_one_summary_object(tiny_config, tmp_path):
    summary = json.loads(out(train(tiny_config, tmp_path, "--json", "--quiet")))
    assert summary["status"] == "completed" and summary["run_dir"]


def test_progress_off_a_terminal_is_plain_lines_for_every_epoch(tiny_config, tmp_path):
    stderr = err(train(tiny_config, tmp_path))
    assert "\x1b" not in stderr and "\r" not in stderr
    assert [int(e) for e in re.findall(r"epoch=(\d+)/4", stderr)] == [1, 2, 3, 4]


def test_set_overrides_reach_the_resolved_config(tiny_config, tmp_path):
    run = out(
        train(
            tiny_config,
            tmp_path,
            "--quiet",
            "--set",
            "optimizer.lr=0.005",
            "--set",
            "model.layers.0.units=8",
            "--set",
            "training.epochs=2",
        )
    ).strip()
    resolved = open(f"{run}/config.yaml").read()
    assert "lr: 0.005" in resolved and "units: 8" in resolved
    assert load_file(f"{run}/checkpoints/last.safetensors")["model.0.W"].shape == (2, 8)


def test_the_same_seed_gives_bit_identical_weights(tiny_config, tmp_path):
    first = out(train(tiny_config, tmp_path / "a", "--quiet")).strip()
    second = out(train(tiny_config, tmp_path / "b", "--quiet")).strip()
    a = load_file(f"{first}/checkpoints/last.safetensors")
    b = load_file(f"{second}/checkpoints/last.safetensors")
    assert sorted(a) == sorted(b)
    assert all(a[k].tobytes() == b[k].tobytes() for k in a)


def test_early_stopping_stops_and_restores_the_best_weights(tmp_path):
    # lr far too high for adam on digits: val_loss gets worse after the first epochs
    result = train(
        CONFIGS / "quickstart.yaml",
        tmp_path,
        "--quiet",
        "--json",
        "--set",
        "optimizer.lr=0.5",
        "--set",
        "training.epochs=30",
        "--set",
        "training.early_stopping={monitor: val_loss, patience: 2, restore_best: true}",
    )
    summary = json.loads(out(result))
    assert summary["status"] == "early_stopped"
    assert summary["epochs_run"] == summary["best_epoch"] + 2
    best = load_file(f"{summary['run_dir']}/checkpoints/best.safetensors")
    eval_best = json.loads(out(backprop("eval", summary["run_dir"], "--json", "--split", "val")))
    assert eval_best["epoch"] == summary["best_epoch"] and "model.0.W" in best
    assert abs(eval_best["loss"] - summary["best"]["val_loss"]) < 1e-4


def test_a_missing_config_file_is_exit_2_with_one_line(tmp_path):
    result = backprop("train", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2
    assert "nope.yaml: config file not found" in err(result) and "Traceback" not in err(result)


def test_train_without_config_or_resume_is_a_usage_error():
    result = backprop("train")
    assert result.returncode == 2 and "--resume" in err(result)


def test_a_bad_threads_value_is_a_usage_error(tiny_config):
    assert backprop("train", str(tiny_config), "--threads", "0").returncode == 2
