"""`backprop eval` and `backprop predict` on a finished run, composed in a pipeline."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest

from tests.cli.conftest import CONFIGS, backprop, err, out


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    result = backprop(
        "train", str(CONFIGS / "iris.yaml"), "--runs-dir", str(runs), "--quiet", "--set", "training.epochs=60"
    )
    assert result.returncode == 0, err(result)
    return out(result).strip()


@pytest.fixture(scope="module")
def sine_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    result = backprop(
        "train",
        str(CONFIGS / "sine-regression.yaml"),
        "--runs-dir",
        str(runs),
        "--quiet",
        "--set",
        "training.epochs=15",
    )
    assert result.returncode == 0, err(result)
    return out(result).strip()


def test_eval_json_has_loss_accuracy_and_per_class_figures(iris_run):
    result = backprop("eval", iris_run, "--json")
    report = json.loads(out(result))
    assert report["split"] == "val" and report["n"] == 30  # iris has no test split; 20% held out
    assert report["accuracy"] > 0.8
    assert len(report["per_class"]) == 3 and len(report["confusion_matrix"]) == 3
    assert sum(map(sum, report["confusion_matrix"])) == 30


def test_eval_prints_a_table_by_default(iris_run):
    text = out(backprop("eval", iris_run))
    assert "accuracy" in text and "confusion matrix" in text


def test_eval_of_a_split_the_data_lacks_says_which_exist(iris_run):
    result = backprop("eval", iris_run, "--split", "test")
    assert result.returncode == 2 and "no test split" in err(result) and "--split" in err(result)


def test_predict_reads_csv_from_stdin_and_writes_one_label_per_row(iris_run):
    rows = b"5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n5.9,3.0,4.2,1.5\n"
    result = backprop("predict", iris_run, "-", "--format", "csv", stdin=rows)
    assert result.returncode == 0, err(result)
    assert out(result).split() == ["setosa", "virginica", "versicolor"]


def test_predict_loads_neither_the_config_schema_nor_yaml(iris_run):
    """Start-up: predict builds the model from the checkpoint's resolved config, not through validation."""
    rows = b"5.1,3.5,1.4,0.2\n"
    plain = backprop("predict", iris_run, "-", stdin=rows)
    traced = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "backprop_cli", "predict", iris_run, "-"],
        input=rows,
        capture_output=True,
    )
    assert traced.returncode == 0 and traced.stdout == plain.stdout == b"setosa\n", err(traced)[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in err(traced).splitlines() if line.startswith("import time")}
    assert "backprop_cli.nn.core.dense" in imported  # the trace is real
    assert not imported & {"backprop_cli.config.schema", "backprop_cli.config.load", "backprop_cli.nn.specs", "yaml"}


def test_predict_proba_gives_probabilities_that_sum_to_one(iris_run):
    result = backprop("predict", iris_run, "--proba", stdin=b"5.1,3.5,1.4,0.2\n")
    header, row = out(result).strip().splitlines()
    assert header.split(",") == ["setosa", "versicolor", "virginica"]
    assert abs(sum(map(float, row.split(","))) - 1) < 1e-4


def test_predict_json_lines_and_npy(iris_run):
    rows = b"5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n"
    lines = out(backprop("predict", iris_run, "--format", "json", stdin=rows)).splitlines()
    assert [json.loads(line)["prediction"] for line in lines] == ["setosa", "virginica"]
    npy = backprop("predict", iris_run, "--format", "npy", stdin=rows).stdout
    assert np.load(io.BytesIO(npy), allow_pickle=False).tolist() == ["setosa", "virginica"]


def test_predict_with_the_wrong_feature_count_is_exit_2(iris_run):
    result = backprop("predict", iris_run, stdin=b"1,2,3,4,5\n")
    assert result.returncode == 2 and "expects 4 features" in err(result)


def test_regression_is_scored_and_predicted_in_the_targets_units(sine_run):
    report = json.loads(out(backprop("eval", sine_run, "--json")))
    assert {"mse", "mae", "r2"} <= set(report) and report["r2"] > 0.5
    assert report["loss_of"] == "standardized targets"  # the trained loss is not in the targets' units
    assert "loss (of standardized targets)" in out(backprop("eval", sine_run))
    values = [float(v) for v in out(backprop("predict", sine_run, stdin=b"0.0\n1.5707963\n")).split()]
    assert abs(values[0]) < 0.3 and abs(values[1] - 1.0) < 0.3  # sin(0) = 0, sin(pi/2) = 1


def test_eval_of_a_path_that_is_not_a_checkpoint_is_exit_2(tmp_path):
    result = backprop("eval", str(tmp_path / "nothing"))
    assert result.returncode == 2 and "no such checkpoint" in err(result)


def test_a_damaged_data_section_stops_eval_with_exit_2_while_predict_needs_only_the_model(iris_run, tmp_path):
    from backprop_cli.runs.checkpoint import load_checkpoint, save_checkpoint

    good = load_checkpoint(f"{iris_run}/checkpoints/best.safetensors")
    meta = good.meta
    meta["config"]["data"]["validation_split"] = 7  # out of range: the pydantic config refuses it
    damaged = tmp_path / "damaged.safetensors"
    save_checkpoint(damaged, good.tensors, meta)  # a valid checksum over the damaged metadata
    evaluated = backprop("eval", str(damaged), "--json")
    assert evaluated.returncode == 2 and "Traceback" not in err(evaluated)
    assert "checkpoint metadata is damaged or incomplete" in err(evaluated) and "validation_split" in err(evaluated)
    predicted = backprop("predict", str(damaged), "-", stdin=b"5.1,3.5,1.4,0.2\n")
    assert predicted.returncode == 0 and out(predicted) == "setosa\n", err(predicted)
