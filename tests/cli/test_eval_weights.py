"""A run with training.ema: eval scores the weight average unless told `--weights raw`; the summary's test
figures and the final weights are the average's; a run without one refuses `--weights ema`."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import backprop, err, out

EMA_RUN = """\
name: ema
seed: 3
data: {dataset: spirals, n_samples: 300, validation_split: 0.2}
model:
  layers:
    - {type: dense, units: 16, activation: relu}
    - {type: dense, units: 3}
optimizer: {type: adam, lr: 0.05}
training: {epochs: 3, batch_size: 16, ema: {decay: 0.9}}
"""


@pytest.fixture(scope="module")
def ema_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("ema")
    (base / "ema.yaml").write_text(EMA_RUN)
    result = backprop("train", str(base / "ema.yaml"), "--runs-dir", str(base / "runs"), "--quiet")
    assert result.returncode == 0, err(result)
    return out(result).strip()


def evaluate(run, *extra):
    result = backprop("eval", run, "--split", "val", "--json", *extra)
    assert result.returncode == 0, err(result)
    return json.loads(out(result))


def test_eval_scores_the_weight_average_by_default_and_the_raw_weights_when_asked(ema_run):
    averaged, raw = evaluate(ema_run), evaluate(ema_run, "--weights", "raw")
    assert averaged["weights"] == "ema" and raw["weights"] == "raw"
    assert averaged["loss"] != raw["loss"]
    assert evaluate(ema_run, "--weights", "ema")["loss"] == averaged["loss"]


def test_the_logged_validation_loss_is_the_averages(ema_run):
    lines = [json.loads(line) for line in open(f"{ema_run}/metrics.jsonl")]
    best = min(lines, key=lambda m: m["val_loss"])
    assert evaluate(ema_run)["loss"] == pytest.approx(best["val_loss"], rel=1e-6)  # best.safetensors


def test_a_run_without_an_average_refuses_weights_ema(ema_run, tmp_path):
    config = tmp_path / "plain.yaml"
    config.write_text(EMA_RUN.replace(", ema: {decay: 0.9}", ""))
    trained = backprop("train", str(config), "--runs-dir", str(tmp_path / "runs"), "--quiet")
    plain = out(trained).strip()
    assert evaluate(plain)["weights"] == "raw"
    result = backprop("eval", plain, "--weights", "ema")
    assert result.returncode == 2
    assert "holds no weight average" in err(result) and "--weights raw" in err(result)
    assert "Traceback" not in err(result)


def test_an_unknown_weights_choice_is_a_usage_error(ema_run):
    result = backprop("eval", ema_run, "--weights", "shadow")
    assert result.returncode == 2 and "choose raw or ema" in err(result)
