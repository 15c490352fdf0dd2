"""`backprop diff`: two runs re-executed in lock-step; where they part, and that equal runs never do."""

from __future__ import annotations

import json

import pytest

from backprop_cli.config.load import load_config
from backprop_cli.teach.diff import Side, diff_configs
from tests.pictures.conftest import DIGITS_CNN, train

from .conftest import backprop, err, out

MLP = """name: mlp
seed: 0
data: {dataset: spirals, classes: 3, validation_split: 0.2, n_samples: 90}
model:
  layers:
    - {type: dense, units: 16, activation: relu}
    - {type: dense, units: 16, activation: tanh}
    - {type: dense, units: 3}
optimizer: {type: adam, lr: 0.01}
training: {epochs: 5, batch_size: 32}
"""


def config(tmp_path, text=MLP, *overrides):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return load_config(path, list(overrides)).config


def test_two_runs_of_one_config_are_identical_at_every_step(tmp_path):
    result = diff_configs(config(tmp_path), config(tmp_path), steps=1000)
    # the whole run: 5 epochs of 3 batches (72 training rows, 32 a batch), across epoch ends and validation
    assert result["identical"] and result["steps_compared"] == 15 and result["config_differences"] == {}


def test_l2_parts_the_runs_at_step_1_in_the_weights_of_the_regularized_layers_only(tmp_path):
    result = diff_configs(config(tmp_path), config(tmp_path, MLP, "regularization.l2=1e-4"), steps=12)
    first = result["first"]
    assert not result["identical"] and first["step"] == 1
    assert result["config_differences"] == {"regularization.l2": [0.0, 1e-4]}
    model_tensors = {d["tensor"] for d in first["differing"] if not d["tensor"].startswith(("grad.", "optimizer."))}
    assert model_tensors == {"0.W", "1.W", "2.W"}  # the weights; biases are not penalized and still agree
    assert (first["layer"], first["tensor"]) == ("0", "0.W")
    gaps = [g["max_abs_diff"] for g in result["growth"]]
    assert [g["step"] for g in result["growth"]] == list(range(1, 12)) and gaps[-1] > gaps[0] > 0


def test_another_seed_parts_at_initialization(tmp_path):
    result = diff_configs(config(tmp_path), config(tmp_path, MLP, "seed=1"), steps=3)
    assert result["first"]["step"] == 0 and result["first"]["tensor"] == "0.W"


def test_a_tolerance_hides_differences_below_it(tmp_path):
    a, b = config(tmp_path), config(tmp_path, MLP, "regularization.l2=1e-4")
    exact = diff_configs(a, b, steps=3)
    largest = max(d["max_abs_diff"] for step in [exact["first"]] for d in step["differing"])
    assert diff_configs(a, b, steps=1, tolerance=largest)["identical"]  # step 1's differences, all at most this
    assert not diff_configs(a, b, steps=1, tolerance=largest / 2)["identical"]


def test_networks_of_other_shapes_are_named_not_compared(tmp_path):
    result = diff_configs(config(tmp_path), config(tmp_path, MLP, "model.layers.0.units=8"), steps=3)
    structure = result["first"]["structure"]
    assert structure["shapes"]["0.W"] == [[2, 16], [2, 8]] and not result["identical"]


def test_numba_kernels_and_the_numpy_rules_give_identical_steps(tmp_path):
    cnn = config(tmp_path, DIGITS_CNN)
    result = diff_configs(cnn, cnn, steps=4, sides=(Side(), Side(env={"BACKPROP_NO_NUMBA": "1"})))
    assert result["identical"] and result["steps_compared"] == 4


def test_the_cli_reads_run_directories_and_exits_1_where_they_part(tmp_path):
    a = train(tmp_path / "a", MLP)
    b = train(tmp_path / "b", MLP, "regularization.l2=1e-4")
    same = backprop("diff", str(a), str(a), "--steps", "5")
    assert same.returncode == 0, err(same)
    assert "identical for 5 steps" in out(same)
    parted = backprop("diff", str(a), str(b), "--steps", "5", "--json")
    assert parted.returncode == 1, err(parted)
    report = json.loads(out(parted))
    assert report["first"]["step"] == 1 and report["config_differences"] == {"regularization.l2": [0.0, 0.0001]}
    text = backprop("diff", str(a), str(b), "--steps", "5")
    assert "they part at step 1: layer 0, tensor 0.W" in out(text) and "regularization.l2: 0.0 -> 0.0001" in out(text)


@pytest.mark.parametrize("bad", [["--env-b", "NOEQUALS"], ["--steps", "0"], ["--python-b", "/no/such/python"]])
def test_bad_options_are_usage_errors(bad, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(MLP)
    result = backprop("diff", str(path), str(path), *bad)
    assert result.returncode == 2 and err(result).startswith("error:")
