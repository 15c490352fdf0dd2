"""method: tpe: the same seed and batch give the same sequence of configurations, with one worker or
several, and after an interrupted sweep is resumed; bad choices and a missing Optuna are one message."""

from __future__ import annotations

import json
import threading

import pytest
import yaml
from reliability.helpers import assert_user_error, backprop, environment, in_process

from backprop_cli.many.execute import run_study
from backprop_cli.many.plans import new_sweep
from backprop_cli.many.spec import load_sweep

from .conftest import run_sweep_here, sweep, sweep_dir, thread_backend, trials_of

pytest.importorskip("optuna")

TPE = """\
base: {base}
method: tpe
trials: 13
seed: 7
{batch}parameters:
  optimizer.lr: {{log_uniform: [0.0003, 0.3]}}
  model.layers.0.units: {{int_uniform: [2, 16]}}
  model.layers.0.activation: [relu, tanh]
metric: val_loss
"""


def tpe_file(files, tmp_path, batch: int | None = None):
    """13 trials of one epoch of iris: the first 10 are the sampler's random start, the last 3 its model's."""
    base = tmp_path / "short.yaml"
    base.write_text((files / "iris.yaml").read_text().replace("epochs: 4,", "epochs: 1,"))
    assert base.read_text() != (files / "iris.yaml").read_text()
    path = tmp_path / f"tpe-{batch}.yaml"
    path.write_text(TPE.format(base=base, batch=f"batch: {batch}\n" if batch else ""))
    return path


def sequence(rows: list[dict]) -> list[dict]:
    return [r["parameters"] for r in sorted(rows, key=lambda r: r["trial"])]


def test_the_same_seed_asks_the_same_configurations_one_at_a_time(files, tmp_path):
    from backprop_cli.many.tpe import first_batch

    path = tpe_file(files, tmp_path)
    _, first = run_sweep_here(path, tmp_path / "a")
    _, second = run_sweep_here(path, tmp_path / "b")
    assert len(first) == 13 and sequence(first) == sequence(second)
    assert [r["val_loss"] for r in first] == [r["val_loss"] for r in second]
    spec = load_sweep(path).spec
    assert first_batch(spec, 1) == sequence(first)[:1]
    assert first_batch(spec.model_copy(update={"seed": 8}), 1) != sequence(first)[:1]


def test_trials_asked_later_train_with_the_sweeps_set_too(files, tmp_path):
    directory, rows = run_sweep_here(tpe_file(files, tmp_path), tmp_path / "runs", ("training.epochs=2",))
    configs = sorted(directory.glob("trial-*/config.yaml"))
    assert len(rows) == len(configs) == 13  # the last 3 were asked after the first 10 had run
    assert {yaml.safe_load(p.read_text())["training"]["epochs"] for p in configs} == {2}  # the base says 1


def test_an_interrupted_tpe_sweep_resumed_asks_what_an_uninterrupted_one_asks(files, tmp_path):
    path = tpe_file(files, tmp_path, batch=3)
    _, whole = run_sweep_here(path, tmp_path / "whole")
    directory = new_sweep(load_sweep(path), tmp_path / "parts", threads=1)
    stop = threading.Event()
    rows, stopped = run_study(directory, thread_backend(), stop, on_row=lambda row: row["trial"] >= 4 and stop.set())
    assert stopped and 5 <= len(rows) < 13
    rows, stopped = run_study(directory, thread_backend(), threading.Event())
    assert not stopped and sequence(rows) == sequence(whole)
    assert [r["val_loss"] for r in sorted(rows, key=lambda r: r["trial"])] == [
        r["val_loss"] for r in sorted(whole, key=lambda r: r["trial"])
    ]


def test_with_two_workers_trials_are_asked_in_batches_of_two_as_one_worker_asks_them_with_batch_2(files, tmp_path):
    pooled = trials_of(sweep(tpe_file(files, tmp_path), "--workers", "2", "--runs-dir", tmp_path / "x"))
    plan = json.loads((sweep_dir(tmp_path / "x") / "plan.json").read_text())
    assert plan["batch"] == 2 and len(plan["trials"]) == 13
    _, alone = run_sweep_here(tpe_file(files, tmp_path, batch=2), tmp_path / "one-worker")
    assert sequence(alone) == sequence(pooled)  # the batch, not the workers' timing, decides the sequence
    _, ones = run_sweep_here(tpe_file(files, tmp_path), tmp_path / "batch-1")
    assert sequence(ones)[:2] == sequence(alone)[:2] and sequence(ones) != sequence(alone)


def test_a_tpe_choice_of_mixed_types_is_one_message(files, tmp_path):
    path = tmp_path / "mixed.yaml"
    path.write_text(
        f"base: {files / 'iris.yaml'}\nmethod: tpe\ntrials: 4\nparameters:\n"
        "  optimizer.lr: [0.01, 0.03]\n  model.layers.0.units: {choice: [4, '8', 16]}\n"
    )
    result = in_process("sweep", path, "--runs-dir", tmp_path / "runs")
    expected = "parameters.model.layers.0.units: tpe takes a choice of one scalar type; this one mixes int, str"
    assert_user_error(result, 2, f"mixed.yaml:6: {expected}")
    assert not (tmp_path / "runs").exists()


def test_without_optuna_a_tpe_sweep_says_how_to_install_it(files, tmp_path):
    blocker = tmp_path / "blocked"
    blocker.mkdir()
    (blocker / "optuna.py").write_text("raise ImportError('optuna is not installed here')\n")
    result = backprop("sweep", tpe_file(files, tmp_path), "--runs-dir", tmp_path / "runs",
                      env=environment(PYTHONPATH=str(blocker)))  # fmt: skip
    assert_user_error(result, 2, "method: tpe needs Optuna, which is not installed", "pip install 'backprop-cli[tpe]'")
    assert not (tmp_path / "runs").exists()
