"""`runs compare` as data: only the config keys that differ, as --set paths, and the metrics side by side."""

from __future__ import annotations

import pytest

from backprop_cli.runs.compare import compare_runs, differing_keys, flatten
from backprop_cli.runs.listing import open_run
from tests.runs_view.builders import BASE_CONFIG, config, write_run


def test_a_config_flattens_to_the_dotted_paths_of_set():
    flat = flatten(BASE_CONFIG)
    assert flat["model.layers.0.units"] == 64
    assert flat["model.layers.2.layers.0.activation"] == "relu"
    assert flat["optimizer.lr"] == 0.001 and flat["training.early_stopping"] is None


def test_identical_configs_have_no_differing_keys():
    assert differing_keys([BASE_CONFIG, config()]) == {}


def test_only_the_keys_that_differ_are_listed_with_each_runs_value():
    a = config()
    b = config(**{"optimizer.lr": 0.01, "model.layers.0.units": 128})
    c = config(**{"optimizer.lr": 0.01, "loss.type": "mse"})
    assert differing_keys([a, b, c]) == {
        "model.layers.0.units": [64, 128, 64],
        "loss.type": ["cross_entropy", "cross_entropy", "mse"],
        "optimizer.lr": [0.001, 0.01, 0.01],
    }


def test_a_section_that_is_null_in_one_config_and_set_in_another_differs_by_its_leaves():
    a = config()
    c = config(**{"training.early_stopping": {"monitor": "val_loss", "patience": 3}})
    assert differing_keys([a, c]) == {
        "training.early_stopping.monitor": [None, "val_loss"],
        "training.early_stopping.patience": [None, 3],
    }


def test_a_layer_one_network_lacks_shows_as_missing():
    a = config()
    b = config()
    b["model"]["layers"].append({"type": "relu"})
    assert differing_keys([a, b]) == {"model.layers.4.type": [None, "relu"]}


def test_true_and_one_are_different_values_but_one_and_one_point_zero_are_not():
    assert differing_keys([{"x": True}, {"x": 1}]) == {"x": [True, 1]}
    assert differing_keys([{"lr": 1}, {"lr": 1.0}]) == {}


def test_compare_lists_the_differing_keys_and_the_metrics_of_each_run(tmp_path):
    a = write_run(tmp_path, "a", cfg=config(name="a"), test={"loss": 0.3, "accuracy": 0.9})
    b = write_run(tmp_path, "b", cfg=config(name="b", **{"optimizer.lr": 0.01}), scale=0.5)
    data = compare_runs([open_run(a), open_run(b)])
    assert data["differences"] == {"name": ["a", "b"], "optimizer.lr": [0.001, 0.01]}
    assert data["identical_keys"] == len(flatten(BASE_CONFIG)) - 2
    assert [r["name"] for r in data["runs"]] == ["a", "b"]
    metrics = data["metrics"]
    assert metrics["status"] == ["completed", "completed"]
    assert metrics["final.train_loss"] == pytest.approx([2.0 * 0.6**5, 0.6**5])
    assert metrics["best_epoch"] == [5, 5]
    assert metrics["test.accuracy"] == [0.9, None]
