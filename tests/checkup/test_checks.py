"""`backprop check`: each check passes on a healthy config and fails on one built to fail it, with its fix."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backprop_cli.checkup import data_checks, model_checks
from backprop_cli.checkup.run import gradient_check
from backprop_cli.config.load import load_config
from backprop_cli.train.setup import build_parts
from tests.cli.conftest import backprop, err, out

HEALTHY = """name: healthy
seed: 0
data: {{dataset: spirals, classes: 3, validation_split: 0.2, n_samples: 120}}
model:
  layers:
    - {{type: dense, units: 32, activation: relu{init}}}
    - {{type: dense, units: 3{last}}}
training: {{epochs: 2, batch_size: 32}}
"""


def config_of(tmp_path, text: str, name: str = "c.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return load_config(path).config


def spirals(tmp_path, init: str = "", last: str = ""):
    config = config_of(tmp_path, HEALTHY.format(init=init, last=last))
    return config, build_parts(config).data


def csv_config(tmp_path, header: str, rows: list[str], classes: int = 3):
    (tmp_path / "rows.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    text = (
        "name: table\nseed: 0\ndata: {path: rows.csv, target: label, validation_split: 0.2}\n"
        "model:\n  layers:\n    - {type: dense, units: 32, activation: relu}\n"
        f"    - {{type: dense, units: {classes}}}\n"
        "training: {epochs: 2, batch_size: 16}\n"
    )
    config = config_of(tmp_path, text)
    return config, build_parts(config).data


def test_a_healthy_config_passes_the_model_checks(tmp_path):
    config, data = spirals(tmp_path)
    for check in (
        model_checks.initial_loss(config, data),
        model_checks.overfit_one_batch(config, data, 200),
        model_checks.zeroed_inputs(config, data),
        model_checks.shuffled_labels(config, data),
    ):
        assert check.verdict == "pass", check


def test_an_over_confident_output_layer_fails_the_initial_loss(tmp_path):
    config, data = spirals(tmp_path, last=", init: normal, init_scale: 3.0")
    finding = model_checks.initial_loss(config, data)
    assert finding.verdict == "fail" and "(ln 3)" in finding.expected
    assert float(finding.measured) > 1.5 * np.log(3)
    assert "smaller init for the last layer" in finding.fix


def test_a_dead_first_layer_cannot_overfit_a_batch_nor_use_its_inputs(tmp_path):
    # relu of all-zero weights: every unit outputs 0 and passes no gradient back, forever
    config, data = spirals(tmp_path, init=", init: zeros")
    overfit = model_checks.overfit_one_batch(config, data, 200)
    assert overfit.verdict == "fail" and "the loss does not fall" in overfit.fix
    zeroed = model_checks.zeroed_inputs(config, data)
    assert zeroed.verdict == "fail" and "ignores them" in zeroed.fix


def _duplicated_rows(n_unique: int, copies: int, rng) -> list[str]:
    x = rng.standard_normal((n_unique, 4)).round(3)
    labels = rng.integers(0, 3, n_unique)
    rows = [",".join(map(str, x[i])) + f",c{labels[i]}" for i in range(n_unique)] * copies
    return [rows[i] for i in rng.permutation(len(rows))]


def test_validation_rows_repeated_from_training_fail_shuffled_labels_and_split_duplicates(tmp_path):
    config, data = csv_config(tmp_path, "a,b,c,d,label", _duplicated_rows(30, 8, np.random.default_rng(0)))
    shuffled = model_checks.shuffled_labels(config, data, steps=200)
    assert shuffled.verdict == "fail" and "repeat training rows" in shuffled.fix
    duplicates = data_checks.split_duplicates(data)
    assert duplicates.verdict == "fail" and "also in training" in duplicates.measured


def test_distinct_rows_pass_split_duplicates(tmp_path):
    config, data = spirals(tmp_path)
    assert data_checks.split_duplicates(data).verdict == "pass"


def test_a_rare_class_fails_class_balance(tmp_path):
    rng = np.random.default_rng(1)
    rows = [f"{v:.3f},{'rare' if i < 4 else 'common'}" for i, v in enumerate(rng.standard_normal(100))]
    _, data = csv_config(tmp_path, "a,label", rows, classes=2)
    finding = data_checks.class_balance(data)
    assert finding.verdict == "fail" and finding.measured.startswith("rarest rare")


def test_a_constant_column_fails_constant_features(tmp_path):
    rng = np.random.default_rng(2)
    rows = [f"{v:.3f},7,c{i % 3}" for i, v in enumerate(rng.standard_normal(60))]
    _, data = csv_config(tmp_path, "a,same,label", rows)
    finding = data_checks.constant_features(data)
    assert finding.verdict == "fail" and finding.measured == "1 of 2 columns: same"


def test_a_column_that_is_the_label_fails_target_leakage(tmp_path):
    rng = np.random.default_rng(3)
    rows = [f"{v:.3f},{i % 3},c{i % 3}" for i, v in enumerate(rng.standard_normal(60))]
    _, data = csv_config(tmp_path, "a,code,label", rows)
    finding = data_checks.target_leakage(data)
    assert finding.verdict == "fail" and finding.measured == "1 columns: code"
    _, clean = csv_config(tmp_path, "a,label", [r.split(",", 2)[0] + "," + r.split(",")[2] for r in rows])
    assert data_checks.target_leakage(clean).verdict == "pass"  # a measurement unique per row is no leak


def test_a_wrong_backward_fails_the_gradient_check(tmp_path, monkeypatch):
    from backprop_cli.nn.core.activations import ReLU

    config, _ = spirals(tmp_path)
    assert gradient_check(config).verdict == "pass"
    monkeypatch.setattr(ReLU, "backward", lambda self, dy: dy)  # "forgets" relu's derivative
    finding = gradient_check(config)
    assert finding.verdict == "fail" and "check the backward of layer" in finding.fix


def test_image_data_skips_the_column_checks(tmp_path):
    text = "data: {dataset: digits}\nmodel: {layers: [{type: flatten}, {type: dense, units: 10}]}\n"
    data = build_parts(config_of(tmp_path, text)).data
    assert data_checks.constant_features(data).verdict == "skip"
    assert data_checks.target_leakage(data).verdict == "skip"


def test_the_cli_prints_each_check_and_exits_1_when_one_fails(tmp_path):
    (tmp_path / "dead.yaml").write_text(HEALTHY.format(init=", init: zeros", last=""))
    result = backprop("check", str(tmp_path / "dead.yaml"), "--json")
    assert result.returncode == 1, err(result)
    report = json.loads(out(result))
    assert report["passed"] is False
    verdicts = {c["check"]: c["verdict"] for c in report["checks"]}
    assert verdicts["overfit one batch"] == "fail" and verdicts["gradcheck"] == "pass"
    assert set(report["checks"][0]) == {"check", "measured", "expected", "verdict", "fix"}


def test_the_cli_exits_0_with_a_table_when_every_check_passes(tmp_path):
    (tmp_path / "ok.yaml").write_text(HEALTHY.format(init="", last=""))
    result = backprop("check", str(tmp_path / "ok.yaml"))
    assert result.returncode == 0, out(result) + err(result)
    table = out(result)
    for name in ("initial loss", "overfit one batch", "zeroed inputs", "shuffled labels", "gradcheck"):
        assert name in table
    assert "fail" not in table


@pytest.mark.parametrize("bad", ["--steps=0", "--steps=x"])
def test_a_bad_option_is_a_usage_error(bad, tmp_path):
    (tmp_path / "ok.yaml").write_text(HEALTHY.format(init="", last=""))
    result = backprop("check", str(tmp_path / "ok.yaml"), bad)
    assert result.returncode == 2 and err(result).startswith("error:")
