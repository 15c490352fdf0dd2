"""`backprop cv`: K stratified, seeded folds of the training data, each held out once as a run's test split."""

from __future__ import annotations

import json

import numpy as np
import pytest
from reliability.helpers import backprop, environment

from backprop_cli.config.schema import DataConfig
from backprop_cli.data import load_data
from backprop_cli.data.splits import fold_indices
from backprop_cli.errors import DataError

from .conftest import sweep, trials_of


def cv(*args):
    return backprop("cv", *args, "--json", timeout=180, env=environment())


def test_cv_on_iris_gives_five_folds_and_their_mean_identical_on_a_second_run(files, tmp_path):
    first, second = (
        cv(files / "iris.yaml", "--folds", "5", "--workers", "2", "--runs-dir", tmp_path / d) for d in "ab"
    )
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    a, b = json.loads(first.stdout), json.loads(second.stdout)
    assert [f["fold"] for f in a["folds"]] == [0, 1, 2, 3, 4]
    assert all(f["status"] == "completed" for f in a["folds"])
    tests = [f["test_accuracy"] for f in a["folds"]]
    assert a["mean"]["test_accuracy"] == pytest.approx(np.mean(tests))
    assert a["std"]["test_accuracy"] == pytest.approx(np.std(tests))
    figures = lambda r: [{k: v for k, v in f.items() if k not in ("seconds", "run_dir")} for f in r["folds"]]  # noqa: E731
    assert figures(a) == figures(b) and a["mean"] == b["mean"] and a["std"] == b["std"]
    directory = next((tmp_path / "a").iterdir())
    assert json.loads((directory / "cv.json").read_text())["mean"] == a["mean"]
    assert "mean" in first.stderr and "std" in first.stderr  # the table


def test_folds_are_disjoint_cover_every_row_and_keep_the_class_proportions():
    y = np.repeat([0, 1, 2], [50, 30, 20])
    folds = fold_indices(y, 5, "classification", np.random.default_rng(0))
    assert sorted(np.concatenate(folds).tolist()) == list(range(100))
    assert [np.bincount(y[f], minlength=3).tolist() for f in folds] == [[10, 6, 4]] * 5


def test_regression_folds_split_a_permutation_into_near_equal_parts():
    folds = fold_indices(np.zeros((11, 1)), 3, "regression", np.random.default_rng(0))
    assert sorted(len(f) for f in folds) == [3, 4, 4] and len(np.unique(np.concatenate(folds))) == 11


def test_more_folds_than_rows_is_a_data_error():
    with pytest.raises(DataError, match="5 folds need at least 5 rows"):
        fold_indices(np.arange(4), 5, "regression", np.random.default_rng(0))


def test_each_fold_scales_with_statistics_of_its_own_training_part():
    whole = load_data(DataConfig(dataset="iris", validation_split=0.0, scale="none"), 0)
    for fold in range(3):
        ds = load_data(DataConfig(dataset="iris", validation_split=0.0, folds=3, fold=fold), 0)
        raw = load_data(DataConfig(dataset="iris", validation_split=0.0, folds=3, fold=fold, scale="none"), 0)
        assert len(ds.x_test) == 50 and len(ds.x_train) == 100
        assert np.allclose(ds.x_train.mean(axis=0), 0, atol=1e-5)  # fitted on these rows only
        assert not np.allclose(ds.x_test.mean(axis=0), 0, atol=1e-2)
        assert np.array_equal(
            np.sort(np.concatenate([raw.x_train, raw.x_test]), axis=0), np.sort(whole.x_train, axis=0)
        )


def test_fold_without_folds_is_a_config_error():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="give both"):
        DataConfig(dataset="iris", fold=1)
    with pytest.raises(ValidationError, match="fold 3 does not exist among 3 folds"):
        DataConfig(dataset="iris", folds=3, fold=3)


def test_a_sweep_with_cv_ranks_trials_by_the_mean_over_folds(files, tmp_path):
    (files / "cvsweep.yaml").write_text(
        "base: iris.yaml\nparameters:\n  optimizer.lr: [0.003, 0.03]\nmetric: test_accuracy\ncv: 3\n"
    )
    trials = trials_of(sweep(files / "cvsweep.yaml", "--workers", "2", "--runs-dir", tmp_path))
    assert len(trials) == 2 and all(len(t["folds"]) == 3 for t in trials)
    for t in trials:
        assert t["test_accuracy"] == pytest.approx(np.mean([f["test_accuracy"] for f in t["folds"]]))
    assert trials[0]["test_accuracy"] >= trials[1]["test_accuracy"]
