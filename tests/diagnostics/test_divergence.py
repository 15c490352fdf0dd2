"""The NaN guard: a non-finite loss or gradient stops the run at once, says where, and keeps the last good
checkpoint loadable."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from backprop_cli.config.load import load_config
from backprop_cli.diagnostics.nonfinite import locate_nonfinite
from backprop_cli.errors import DivergedError
from backprop_cli.inference import load_trained
from backprop_cli.nn.model import build_model
from backprop_cli.train.callbacks import Callback
from backprop_cli.train.session import RunOptions, run_training
from tests.diagnostics.conftest import CONFIGS, backprop


def _strict(line: str) -> dict:
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(line, parse_constant=refuse)


def test_a_diverging_run_exits_1_with_the_step_the_layer_and_what_to_try(tmp_path):
    result = backprop("train", str(CONFIGS / "divergence.yaml"), "--runs-dir", str(tmp_path))
    assert result.returncode == 1
    message = result.stderr.strip().splitlines()[-1]
    match = re.search(r"diverged at epoch (\d+) step (\d+): train loss is nan", message)
    assert match and int(match[1]) >= 2, message  # the first epoch stays finite: its checkpoint is the last good one
    assert re.search(r"first non-finite value: layer \d \(dense(\(relu\))?\) (output|weights|gradients)", message)
    assert "lower `optimizer.lr`" in message and "grad_clip_norm" in message
    assert "last finite checkpoint: epoch 1" in message
    assert "Traceback" not in result.stderr and "RuntimeWarning" not in result.stderr
    (run,) = tmp_path.iterdir()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "diverged" and summary["epochs_run"] == 1
    records = [_strict(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1]
    evaluated = backprop("eval", str(run), "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["epoch"] == 1


class PoisonWeights(Callback):
    """A NaN introduced mid-run: one weight of the output layer, after step `at` of epoch 2."""

    def __init__(self, at: int):
        self.at = at

    def on_batch_end(self, trainer, loss: float) -> None:
        if trainer.epoch == 1 and trainer.batch_in_epoch == self.at:
            trainer.model.layers[-1].params["W"][0, 0] = np.nan


def test_a_nan_introduced_mid_run_ends_diverged_with_a_loadable_last_good_checkpoint(tmp_path):
    config = load_config(CONFIGS / "quickstart.yaml", ["training.epochs=3"]).config
    options = RunOptions(runs_dir=str(tmp_path), threads=1, extra_callbacks=[PoisonWeights(at=5)])
    with pytest.raises(DivergedError) as info:
        run_training(config, options)
    assert info.value.exit_code == 1
    assert "diverged at epoch 2 step 29: train loss is nan" in info.value.what  # 23 steps an epoch, then 5 + 1
    assert "first non-finite value: layer 2 (dense) weights" in info.value.what
    (run,) = tmp_path.iterdir()
    summary = json.loads((run / "summary.json").read_text())
    assert (summary["status"], summary["epochs_run"], summary["step"]) == ("diverged", 1, 28)
    trained = load_trained(run / "checkpoints" / "last.safetensors")
    assert trained.epoch == 1 and np.isfinite(trained.model.flat_params).all()


def test_the_first_nonfinite_value_is_found_in_the_weights_then_the_forward_pass_then_the_gradients(rng):
    specs = [{"type": "dense", "units": 4, "activation": "relu"}, {"type": "batchnorm"}, {"type": "dense", "units": 2}]
    model = build_model(specs, (3,), rng, np.float32)
    x = 1.0 + rng.random((5, 3), dtype=np.float32)
    assert locate_nonfinite(model, x) is None
    model.layers[2].grads["W"][0, 0] = np.inf
    assert locate_nonfinite(model, x) == "layer 2 (dense) gradients"
    model.layers[0].params["W"][...] = 3e38  # x @ W overflows float32 in the first layer
    running = model.layers[1].state["running_mean"].copy()
    assert locate_nonfinite(model, x) == "layer 0 (dense(relu)) output"
    np.testing.assert_array_equal(model.layers[1].state["running_mean"], running)  # the replay left no trace
    model.layers[2].params["b"][1] = np.nan
    assert locate_nonfinite(model, x) == "layer 2 (dense) weights"
