"""`sweep --set KEY=VALUE`: every trial's base config overridden as train's --set overrides a config, the
override kept in plan.json; a --set that a parameter, the halving schedule or a resume would ignore is refused."""

from __future__ import annotations

import json

import pytest
import yaml
from reliability.helpers import assert_user_error, backprop, environment

from .conftest import run_sweep_here, sweep, sweep_dir, trials_of

TWO = """\
base: iris.yaml
parameters:
  optimizer.lr: [0.003, 0.01]
metric: val_loss
"""


def _epochs(directory) -> list[int]:
    return [yaml.safe_load(p.read_text())["training"]["epochs"] for p in sorted(directory.glob("trial-*/config.yaml"))]


def test_every_trial_trains_the_base_config_with_the_override(files, tmp_path):
    (files / "two.yaml").write_text(TWO)
    result = sweep(files / "two.yaml", "--set", "training.epochs=2", "--workers", "1", "--runs-dir", tmp_path)
    trials = trials_of(result)
    opening = next(line for line in result.stderr.splitlines() if line.startswith("sweep "))
    assert opening.endswith("per run, with --set training.epochs=2"), opening  # said as it starts
    directory = sweep_dir(tmp_path)
    assert json.loads((directory / "plan.json").read_text())["overrides"] == ["training.epochs=2"]
    assert _epochs(directory) == [2, 2]  # the base config says 4
    assert sorted(t["parameters"]["optimizer.lr"] for t in trials) == [0.003, 0.01]  # the parameters still vary
    assert all(t["status"] == "completed" and t["epochs"] == 2 for t in trials), trials


def test_the_override_comes_first_and_a_parameter_can_set_a_key_inside_it(files, tmp_path):
    (files / "units.yaml").write_text(TWO.replace("optimizer.lr: [0.003, 0.01]", "model.layers.0.units: [4, 6]"))
    layer = "model.layers.0={type: dense, units: 3, activation: tanh}"
    directory, rows = run_sweep_here(files / "units.yaml", tmp_path, (layer, "training.epochs=1"))
    configs = sorted(directory.glob("trial-*/config.yaml"))
    layers = [yaml.safe_load(p.read_text())["model"]["layers"][0] for p in configs]
    assert [(x["units"], x["activation"]) for x in layers] == [(4, "tanh"), (6, "tanh")]
    assert _epochs(directory) == [1, 1] and len(rows) == 2


@pytest.mark.parametrize(
    "sweep_file, item, fragments",
    [
        ("grid.yaml", "optimizer.lr=0.1", ["--set optimizer.lr=0.1", "the sweep's parameter optimizer.lr"]),
        ("grid.yaml", "optimizer.lr.x=1", ["--set optimizer.lr.x=1", "the sweep's parameter optimizer.lr"]),
        ("halving.yaml", "training.epochs=2", ["--set training.epochs=2", "schedule.max_epochs"]),
        ("grid.yaml", "training.epoch=2", ["--set training.epoch=2", "did you mean 'epochs'"]),
        ("grid.yaml", "training.epochs", ["--set training.epochs", "expected KEY=VALUE"]),
    ],
)
def test_a_set_the_sweep_cannot_apply_is_refused_before_anything_exists(files, tmp_path, sweep_file, item, fragments):
    result = backprop("sweep", files / sweep_file, "--set", item, "--runs-dir", tmp_path / "runs", env=environment())
    assert_user_error(result, 2, *fragments)
    assert "trial 0" not in result.stderr  # the --set is at fault, not a trial
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("verb", ["sweep", "cv"])
def test_a_resumed_study_refuses_a_set_that_would_change_nothing(tmp_path, verb):
    result = backprop(verb, "--resume", tmp_path, "--set", "training.epochs=2", env=environment())
    assert_user_error(result, 2, "--set", f"a resumed {verb} runs the configs its plan.json fixed")
