"""A run with training.ema: eval scores the weight average unless told `--weights raw`; the summary's test
figures and the final weights are the average's; a run without one refuses `--weights ema`. The runs train
in this process; one real `backprop eval` shows the refusal as a user meets it (exit 2, one message)."""

from __future__ import annotations

import json

import pytest

from backprop_cli.cli.evaluate import evaluate as eval_command
from backprop_cli.config.load import build_config
from backprop_cli.config.yamlsafe import parse_yaml
from backprop_cli.errors import CheckpointError, UserError
from backprop_cli.inference import evaluate_split, load_trained
from backprop_cli.train.session import RunOptions, run_training
from tests.cli.conftest import backprop, err

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


def trained_run(text: str, runs_dir) -> str:
    config = build_config(parse_yaml(text, "ema.yaml")).config
    return str(run_training(config, RunOptions(runs_dir=str(runs_dir), threads=1)).run_dir)


@pytest.fixture(scope="module")
def ema_run(tmp_path_factory):
    return trained_run(EMA_RUN, tmp_path_factory.mktemp("ema"))


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory):
    return trained_run(EMA_RUN.replace(", ema: {decay: 0.9}", ""), tmp_path_factory.mktemp("plain"))


def evaluate(run, weights=None):
    return evaluate_split(load_trained(run, weights), "val")


def test_eval_scores_the_weight_average_by_default_and_the_raw_weights_when_asked(ema_run, capsys):
    averaged, raw = evaluate(ema_run), evaluate(ema_run, "raw")
    assert averaged["weights"] == "ema" and raw["weights"] == "raw"
    assert averaged["loss"] != raw["loss"]
    assert evaluate(ema_run, "ema")["loss"] == averaged["loss"]
    eval_command(ema_run, split="val", weights="raw", as_json=True)  # the command passes --weights on
    assert json.loads(capsys.readouterr().out)["loss"] == raw["loss"]


def test_the_logged_validation_loss_is_the_averages(ema_run):
    lines = [json.loads(line) for line in open(f"{ema_run}/metrics.jsonl")]
    best = min(lines, key=lambda m: m["val_loss"])
    assert evaluate(ema_run)["loss"] == pytest.approx(best["val_loss"], rel=1e-6)  # best.safetensors


def test_a_run_without_an_average_scores_its_weights_and_refuses_weights_ema(plain_run):
    assert evaluate(plain_run)["weights"] == "raw"
    with pytest.raises(CheckpointError, match="holds no weight average"):
        load_trained(plain_run, "ema")


def test_the_refusal_is_one_message_and_exit_2_for_the_user(plain_run):
    result = backprop("eval", plain_run, "--weights", "ema")
    assert result.returncode == 2
    assert "holds no weight average" in err(result) and "--weights raw" in err(result)
    assert "Traceback" not in err(result)


def test_an_unknown_weights_choice_is_a_usage_error(ema_run):
    with pytest.raises(UserError, match="unknown weights 'shadow'") as caught:
        eval_command(ema_run, weights="shadow")
    assert caught.value.fix == "choose raw or ema"
