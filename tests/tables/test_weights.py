"""Class weights and row weights end to end: balanced weights on a 1:9 set find the rare class; the weight
column leaves the features and weighs the reported loss; a class that does not exist is named."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backprop_cli.data import load_data
from backprop_cli.inference import load_trained
from tests.reliability.helpers import assert_user_error, in_process

CONFIG = """seed: 0
data: {{path: train.csv, target: label, test_path: test.csv, validation_split: 0.2{data}}}
model: {{layers: [{{type: dense, units: 8, activation: relu}}, {{type: dense, units: {units}}}]}}
optimizer: {{type: adam, lr: 0.02}}
training: {{epochs: 15, batch_size: 32}}
{loss}"""


def write_rare_table(path, n: int, rng: np.random.Generator, weights: bool = False) -> None:
    """Two features; `rare` is 1 row in 10, shifted from `common` but overlapping it."""
    y = rng.random(n) < 0.1
    x = rng.normal(size=(n, 2)) + np.where(y[:, None], [1.2, 0.8], [0.0, 0.0])
    w = rng.choice([0.5, 1.0, 3.0], size=n)
    header = "a,b,w,label\n" if weights else "a,b,label\n"
    rows = [
        f"{a:.4f},{b:.4f}," + (f"{wi}," if weights else "") + ("rare" if t else "common")
        for (a, b), wi, t in zip(x, w, y)
    ]
    path.write_text(header + "\n".join(rows) + "\n")


@pytest.fixture(scope="module")
def rare(tmp_path_factory):
    base = tmp_path_factory.mktemp("rare")
    rng = np.random.default_rng(3)
    write_rare_table(base / "train.csv", 600, rng)
    write_rare_table(base / "test.csv", 400, rng)
    return base


def _trained_report(base, name: str, loss: str = "", units: int = 2, data: str = "") -> dict:
    (base / f"{name}.yaml").write_text(CONFIG.format(loss=loss, units=units, data=data))
    trained = in_process("train", f"{name}.yaml", "--runs-dir", f"runs-{name}", "--quiet", "--threads", "1", cwd=base)
    assert trained.returncode == 0, trained.stderr
    scored = in_process("eval", trained.stdout.strip(), "--json", cwd=base)
    assert scored.returncode == 0, scored.stderr
    return json.loads(scored.stdout)


def test_balanced_class_weights_raise_balanced_accuracy_and_the_rare_class_recall(rare):
    plain = _trained_report(rare, "plain")
    balanced = _trained_report(rare, "balanced", "loss: {type: cross_entropy, class_weights: balanced}\n")
    rare_index = plain["class_names"].index("rare")
    assert plain["per_class"][rare_index]["support"] == balanced["per_class"][rare_index]["support"] > 20
    assert balanced["balanced_accuracy"] > plain["balanced_accuracy"] + 0.1
    assert balanced["per_class"][rare_index]["recall"] > plain["per_class"][rare_index]["recall"] + 0.3


def test_class_weights_by_name_work_for_binary_cross_entropy_too(rare):
    report = _trained_report(rare, "bce", "loss: {type: binary_cross_entropy, class_weights: {rare: 9.0}}\n", 1)
    assert report["per_class"][report["class_names"].index("rare")]["recall"] > 0.5


def test_a_class_weight_for_a_class_that_does_not_exist_is_named_with_the_classes(rare):
    (rare / "typo.yaml").write_text(CONFIG.format(loss="loss: {class_weights: {raer: 9.0}}\n", units=2, data=""))
    for verb in (("config", "validate", "typo.yaml"), ("train", "typo.yaml", "--runs-dir", "typo-runs")):
        result = in_process(*verb, cwd=rare)
        assert_user_error(
            result, 2, "typo.yaml:6: loss.class_weights.raer: names the class `raer`, which the data does not have "
            "(its classes: common, rare); did you mean 'rare'?"
        )  # fmt: skip
    assert not (rare / "typo-runs").exists() or not list((rare / "typo-runs").iterdir())


def test_the_weight_column_leaves_the_features_and_the_reported_loss_is_the_weighted_mean(tmp_path):
    rng = np.random.default_rng(5)
    write_rare_table(tmp_path / "train.csv", 300, rng, weights=True)
    write_rare_table(tmp_path / "test.csv", 100, rng, weights=True)
    report = _trained_report(tmp_path, "weighted", data=", weight_column: w")
    run = next((tmp_path / "runs-weighted").iterdir())
    trained = load_trained(run)
    assert trained.data_meta["feature_names"] == ["a", "b"] and trained.loss.class_weights is None
    proba = in_process("predict", run, tmp_path / "test.csv", "--proba", "--format", "json")
    p = np.array([[json.loads(line)[c] for c in report["class_names"]] for line in proba.stdout.splitlines()])
    table = np.genfromtxt(tmp_path / "test.csv", delimiter=",", names=True, dtype=None, encoding="utf-8")
    y = np.array([report["class_names"].index(label) for label in table["label"]])
    w = table["w"].astype(np.float64)
    expected = np.sum(w * -np.log(p[np.arange(len(y)), y])) / w.sum()
    assert report["loss"] == pytest.approx(expected, rel=2e-4)  # predict prints probabilities to 6 digits
    assert report["loss"] != pytest.approx(np.mean(-np.log(p[np.arange(len(y)), y])), rel=2e-3)


def test_predict_threshold_moves_the_cut_and_eval_suggests_one_from_the_validation_split(rare):
    report = _trained_report(rare, "cut")
    cut = report["suggested_threshold"]
    assert 0.0 < cut["threshold"] < 1.0 and 0.5 < cut["balanced_accuracy"] <= 1.0
    run = next((rare / "runs-cut").iterdir())
    at = {t: in_process("predict", run, rare / "test.csv", "--threshold", str(t)).stdout.split() for t in (0.5, 0.05)}
    plain = in_process("predict", run, rare / "test.csv").stdout.split()
    assert at[0.5] == plain  # the default cut is the argmax's
    assert at[0.05].count("rare") > plain.count("rare")
    bad = in_process("predict", run, rare / "test.csv", "--threshold", "1.5")
    assert_user_error(bad, 2, "--threshold: 1.5 is out of range; give a finite number from 0 to 1")


def test_early_stopping_monitors_val_roc_auc_as_higher_is_better(rare):
    stop = "training: {epochs: 15, batch_size: 32, early_stopping: {monitor: val_roc_auc, patience: 2}}\n"
    text = CONFIG.format(loss="", units=2, data="").replace("training: {epochs: 15, batch_size: 32}\n", stop)
    (rare / "auc.yaml").write_text(text)
    result = in_process("train", "auc.yaml", "--runs-dir", "runs-auc", "--quiet", "--json", cwd=rare)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    records = [json.loads(line) for line in (next((rare / "runs-auc").iterdir()) / "metrics.jsonl").open()]
    aucs = [r["val_roc_auc"] for r in records]
    assert summary["best"] == {"val_roc_auc": max(aucs)} and summary["best_epoch"] == 1 + aucs.index(max(aucs))


@pytest.mark.parametrize(
    "column, message",
    [
        ("{type: category, encode: embedding}", "data.columns.b: encode: embedding needs `dim`"),
        ("{type: category, encode: embedding, dim: 4}", "data.columns.b.encode: encode: embedding is not available"),
        ("{type: number, missing: most_frequent}", "missing: most_frequent does not apply to a number column"),
        ("{type: number, fill_value: 3}", "fill_value is the value of `missing: constant`"),
    ],
)
def test_a_column_spec_that_cannot_work_is_refused_at_its_key(rare, column, message):
    (rare / "spec.yaml").write_text(CONFIG.format(loss="", units=2, data=f", columns: {{b: {column}}}"))
    assert_user_error(in_process("config", "validate", "spec.yaml", cwd=rare), 2, message)


def test_trace_shows_the_weighted_gradient_of_the_loss_row_by_row(tmp_path):
    from backprop_cli.config.load import load_config
    from backprop_cli.teach.trace import run_trace

    rng = np.random.default_rng(7)
    write_rare_table(tmp_path / "train.csv", 200, rng, weights=True)
    write_rare_table(tmp_path / "test.csv", 50, rng, weights=True)
    text = CONFIG.format(loss="loss: {class_weights: {rare: 4.0}}\n", units=2, data=", weight_column: w")
    (tmp_path / "t.yaml").write_text(text)
    config = load_config(tmp_path / "t.yaml").config
    trace = run_trace(config, steps=1, rows=8, full=True)
    step = trace["steps"][0]
    logits = np.array(step["forward"][-1]["y"]["values"])
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    y = np.array(trace["targets"]["values"])
    rows = load_data(config.data, config.seed).w_train[:8]  # the weights of the traced rows
    w = np.where(y == 1, 4.0, 1.0) * rows  # rare is class 1 (classes sorted: common, rare)
    expected = w[:, None] * (p - np.eye(2)[y]) / w.sum()
    np.testing.assert_allclose(np.array(step["dL_dpred"]["values"]), expected, rtol=1e-4, atol=1e-7)
