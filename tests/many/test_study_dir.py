"""A sweep or cv directory is an artifact with a schema: made whole or not at all, validated on every
open, of the kind its verb continues, compared with its sweep file on resume, and pointed at (not
misread) by the verbs that take one run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess

import pytest
from reliability.helpers import assert_user_error, environment, in_process, start, wait_stopped

from backprop_cli.config.load import load_config
from backprop_cli.many.plans import new_cv, new_sweep
from backprop_cli.many.spec import load_sweep
from backprop_cli.many.study import read_plan


@pytest.fixture
def made_sweep(files, tmp_path):
    """A two-trial sweep, made and not run: (its directory, its sweep file)."""
    path = tmp_path / "two.yaml"
    path.write_text(f"base: {files / 'iris.yaml'}\nparameters: {{optimizer.lr: [0.01, 0.03]}}\nmetric: val_loss\n")
    return new_sweep(load_sweep(path), tmp_path / "runs", threads=1), path


def test_cv_resume_of_a_sweep_directory_names_its_kind_and_the_verb_and_writes_nothing(made_sweep, files, tmp_path):
    directory, _ = made_sweep
    before = sorted(p.name for p in directory.iterdir())
    result = in_process("cv", "--resume", directory)
    assert_user_error(result, 2, f"{directory} is a sweep directory, not a cv directory",
                      f"continue it with `backprop sweep --resume {directory}`")  # fmt: skip
    assert sorted(p.name for p in directory.iterdir()) == before  # no cv.json
    cv_dir = new_cv(load_config(files / "iris.yaml", []), 2, tmp_path / "cv", threads=1)
    result = in_process("sweep", "--resume", cv_dir)
    assert_user_error(result, 2, "is a cv directory, not a sweep directory", f"backprop cv --resume {cv_dir}")


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda plan: plan.update(trials="all"), "trials: must be a list"),
        (lambda plan: plan["trials"][0].update(runs=["../../elsewhere"]), "is not a path inside the study directory"),
        (lambda plan: plan.update(kind="grid"), "kind:"),
        (lambda plan: plan.update(threads="2"), "threads:"),
        (lambda plan: plan["trials"].reverse(), "trials must be numbered 0, 1, 2"),
    ],
)
def test_a_damaged_plan_is_refused_as_damaged_naming_the_field(made_sweep, damage, message):
    directory, _ = made_sweep
    plan = json.loads((directory / "plan.json").read_text())
    damage(plan)
    (directory / "plan.json").write_text(json.dumps(plan))
    result = in_process("sweep", "--resume", directory)
    assert_user_error(result, 2, f"{directory / 'plan.json'}: the study's plan is damaged", message)


def test_a_sweep_file_edited_before_resume_is_named_with_each_difference(made_sweep):
    directory, path = made_sweep
    path.write_text(path.read_text().replace("0.03]", "0.3]").replace("val_loss", "val_accuracy"))
    result = in_process("sweep", "--resume", directory)
    assert_user_error(result, 2, f"{path}: was edited after the sweep was planned:",
                      "metric: 'val_loss' -> 'val_accuracy'", "parameters.optimizer.lr.1: 0.03 -> 0.3")  # fmt: skip
    path.unlink()  # the copy in the sweep directory is compared too
    copy = directory / "sweep.yaml"
    copy.write_text(copy.read_text().replace("mode: min", "mode: max"))
    assert_user_error(in_process("sweep", "--resume", directory), 2, f"{copy}: was edited", "mode: 'min' -> 'max'")


def test_a_trial_directory_deleted_by_hand_is_named_as_such(made_sweep):
    directory, _ = made_sweep
    gone = read_plan(directory).trials[1].runs[0]
    shutil.rmtree(directory / gone)
    result = in_process("sweep", "--resume", directory, "--workers", "1")
    assert_user_error(result, 2, "missing from the study (deleted by hand?)", f"trial 1: {gone}")
    assert "shared filesystem" not in result.stderr


@pytest.mark.parametrize("command", [("train", "--resume"), ("eval",), ("predict",), ("export", "--format", "npz")])
def test_verbs_that_take_one_run_point_a_sweep_directory_at_its_trials_and_at_sweep_resume(made_sweep, command):
    directory, _ = made_sweep
    result = in_process(*command[:1], *command[1:2] if command[0] == "train" else (), directory,
                        *command[1:] if command[0] != "train" else ())  # fmt: skip
    assert_user_error(result, 2, f"{directory} is a sweep directory, not a run: its 2 runs are directories inside it",
                      f"`backprop sweep --resume {directory}`")  # fmt: skip


def test_ctrl_c_while_a_large_sweep_makes_its_trial_directories_leaves_no_half_made_study(files, tmp_path):
    """Ctrl-C lands while trial 20's directory is written (the pause hook stops the process there, so the
    key is pressed mid-way for sure); the study stops before the next trial and removes what it made."""
    rates = [round(0.0001 * (i + 1), 4) for i in range(300)]
    (tmp_path / "large.yaml").write_text(f"base: {files / 'iris.yaml'}\nparameters:\n  optimizer.lr: {rates}\n")
    runs = tmp_path / "runs"
    hook = {"BACKPROP_TEST_PAUSE_AT": "temp_opened", "BACKPROP_TEST_KILL_MATCH": "trial-020",
            "BACKPROP_TEST_PAUSE_SECONDS": "0"}  # fmt: skip
    proc = start("sweep", tmp_path / "large.yaml", "--runs-dir", runs, stdout=subprocess.PIPE, env=environment(**hook))
    wait_stopped(proc, "backprop-test: paused at temp_opened")
    assert len([p for p in runs.glob(".*.tmp/trial-*")]) == 21  # mid-way: trials 0-20 made, 279 to go
    os.kill(proc.pid, signal.SIGINT)
    os.kill(proc.pid, signal.SIGCONT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "Exception ignored" not in err and out == ""
    assert list(runs.iterdir()) == []  # neither the half-made study nor its reserved name
