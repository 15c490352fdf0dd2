"""Sweep files are validated like configs (line, key path, did-you-mean), and so is every trial's config,
before the first trial starts: a bad combination fails the sweep at once and leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from reliability.helpers import in_process

from backprop_cli.many.expand import expand
from backprop_cli.many.spec import load_sweep


def write(folder, text: str, name: str = "s.yaml"):
    path = folder / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "base: iris.yaml\nparameters: {optimizer.lr: [0.1]}\nmetric: val_acuracy\n",
            "s.yaml:3: metric: unknown value 'val_acuracy'; did you mean 'val_accuracy'?",
        ),
        (
            "base: iris.yaml\nparameters: {optimizer.lr: [0.1]}\nmetrics: val_loss\n",
            "s.yaml:3: metrics: unknown key 'metrics'; did you mean 'metric'?",
        ),
        (
            "base: iris.yaml\nparameters:\n  optimizer.lr: {distribution: log_uniform, low: 0.1, high: 1}\n",
            "s.yaml:3: parameters.optimizer.lr: must be a non-empty list of values; a grid takes a list",
        ),
        (
            "base: iris.yaml\nmethod: random\ntrials: 3\nparameters:\n"
            "  optimizer.lr: {distribution: log_uniform, low: 0, high: 1}\n",
            "s.yaml:5: parameters.optimizer.lr: log_uniform needs low > 0 (got 0.0)",
        ),
        (
            "base: iris.yaml\nmethod: random\nparameters: {optimizer.lr: [0.1]}\n",
            "s.yaml:2: random search needs `trials: N`",
        ),
        ("base: missing.yaml\nparameters: {optimizer.lr: [0.1]}\n", "s.yaml:1: base config 'missing.yaml' not found"),
        ("- just a list\n", "s.yaml:1: a sweep file is a mapping"),
        ("base: s.yaml\nparameters: {optimizer.lr: [0.1]}\n", "s.yaml:1: base: points at this sweep file itself"),
        ("base: iris.yaml\nparameters: {optimizer.lr: [0.1]}\ncv: yes\n", "s.yaml:3"),
    ],
)
def test_a_bad_sweep_file_is_one_message_with_line_and_key_and_exit_2(files, text, message):
    result = in_process("sweep", write(files, text))
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_bad_trial_config_fails_the_sweep_before_any_trial_and_names_the_parameter_line(files, tmp_path):
    path = write(files, "base: iris.yaml\nparameters:\n  optimizer.lr: [0.1]\n  optimizer.lrr: [1, 2]\n", "bad.yaml")
    result = in_process("sweep", path, "--runs-dir", tmp_path / "runs")
    assert result.returncode == 2
    assert "bad.yaml:4: trial 0 (optimizer.lr=0.1 optimizer.lrr=1): optimizer.lrr: unknown key 'lrr'" in result.stderr
    assert "did you mean 'lr'?" in result.stderr
    assert not (tmp_path / "runs").exists()  # nothing was created


def test_a_large_sweep_says_it_is_checking_its_configs_before_the_long_silence(files, tmp_path):
    rates = [round(0.001 * (i + 1), 3) for i in range(299)] + [-1]  # the 300th is bad: all are checked, none runs
    path = write(files, f"base: iris.yaml\nparameters:\n  optimizer.lr: {rates}\n", "large.yaml")
    result = in_process("sweep", path, "--runs-dir", tmp_path / "runs")
    first, last = result.stderr.splitlines()[0], result.stderr.splitlines()[-1]
    assert first == "checking the configs of 300 trials before the first one runs"
    assert "trial 299 (optimizer.lr=-1): optimizer.lr: must be > 0" in last and result.returncode == 2
    assert not (tmp_path / "runs").exists()


def test_val_metrics_need_a_validation_split_and_say_which_line_sets_it(files, tmp_path):
    path = write(files, "base: iris.yaml\nparameters:\n  data.validation_split: [0.2, 0.0]\nmetric: val_loss\n")
    result = in_process("sweep", path, "--runs-dir", tmp_path)
    assert result.returncode == 2
    assert "s.yaml:3: trial 1 (data.validation_split=0.0): data.validation_split: is 0, so no run reports val_loss" in (
        result.stderr
    )


def test_a_grid_runs_every_combination_the_last_key_fastest(files):
    path = write(files, "base: iris.yaml\nparameters:\n  a.x: [1, 2]\n  b.y: [r, s, t]\n")
    trials = expand(load_sweep(path).spec)
    assert trials == [{"a.x": a, "b.y": b} for a in (1, 2) for b in "rst"]


def test_random_search_draws_from_each_distribution_the_same_trials_every_time(files):
    text = (
        "base: iris.yaml\nmethod: random\ntrials: 50\nseed: 4\nparameters:\n"
        "  optimizer.lr: {distribution: log_uniform, low: 0.0001, high: 0.1}\n"
        "  model.layers.0.units: {distribution: int_uniform, low: 4, high: 6}\n"
        "  regularization.l2: {distribution: uniform, low: 0, high: 0.01}\n"
        "  model.layers.0.activation: [relu, tanh]\n"
        "  optimizer.type: {distribution: choice, values: [adam, sgd]}\n"
    )
    spec = load_sweep(write(files, text)).spec
    trials = expand(spec)
    assert trials == expand(spec) and len(trials) == 50
    assert all(1e-4 <= t["optimizer.lr"] <= 0.1 and 0 <= t["regularization.l2"] <= 0.01 for t in trials)
    assert {t["model.layers.0.units"] for t in trials} == {4, 5, 6}  # high included
    assert {t["model.layers.0.activation"] for t in trials} == {"relu", "tanh"}
    assert {t["optimizer.type"] for t in trials} == {"adam", "sgd"}
    assert min(t["optimizer.lr"] for t in trials) < 1e-3 < max(t["optimizer.lr"] for t in trials)  # log scale


def test_resume_of_a_directory_that_is_not_a_sweep_is_a_user_error(tmp_path):
    result = in_process("sweep", "--resume", tmp_path)
    assert result.returncode == 2 and "is not a sweep or cv directory" in result.stderr


def test_cluster_options_that_cannot_work_are_refused_before_anything_runs(files, tmp_path):
    (files / "ok.yaml").write_text("base: iris.yaml\nparameters: {optimizer.lr: [0.1]}\n")
    missing = in_process("sweep", files / "ok.yaml", "--scheduler-file", tmp_path / "none.json")
    both = in_process("sweep", files / "ok.yaml", "--scheduler", "tcp://127.0.0.1:1", "--workers", "2")
    assert missing.returncode == 2 and "none.json: no such scheduler file" in missing.stderr
    assert both.returncode == 2 and "--workers: --workers sets the local pool's size" in both.stderr
    assert not (tmp_path / "runs").exists()


def test_every_example_sweep_file_is_valid_with_every_trial_config():
    from backprop_cli.many.configs import trial_configs

    sweeps = sorted((Path(__file__).resolve().parents[2] / "configs" / "sweeps").glob("*.yaml"))
    assert sweeps
    for path in sweeps:
        loaded = load_sweep(path)
        assert trial_configs(loaded, expand(loaded.spec))  # raises ConfigError naming the file and line


@pytest.mark.parametrize("command", [("train",), ("config", "validate"), ("cv",), ("explain",)])
def test_a_sweep_file_given_where_an_experiment_config_belongs_says_so_and_how_to_run_it(files, command):
    sweep = write(files, "base: iris.yaml\nparameters: {optimizer.lr: [0.1]}\nmetric: val_loss\n")
    result = in_process(*command, sweep)
    assert result.returncode == 2
    expected = "s.yaml:1: this is a sweep file (it has `base:` and `parameters:`), not an experiment config"
    assert expected in result.stderr
    assert f"run it with `backprop sweep {sweep}`" in result.stderr and len(result.stderr.splitlines()) == 1
