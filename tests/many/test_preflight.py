"""Sweeps and cross-validations run train's own pre-flight on every distinct trial and fold config before
they create anything: what `train` refuses at once is refused at once, and no run directory is left."""

from __future__ import annotations

from pathlib import Path

from reliability.helpers import in_process

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def run(*args) -> tuple[int, str]:
    done = in_process(*args)  # the refusals are the pre-flight's, not the process's: no interpreter start-up
    return done.returncode, done.stderr


def nothing_in(runs: Path) -> bool:
    return not runs.exists() or not any(runs.iterdir())


def test_cv_refuses_an_output_layer_that_does_not_fit_the_classes_creating_nothing(tmp_path):
    runs = tmp_path / "runs"
    code, err = run("cv", CONFIGS / "iris.yaml", "--folds", "2", "--set", "model.layers.1.units=2", "--runs-dir", runs)
    assert code == 2 and "the data has 3 classes but the last layer has 2 units" in err, err
    assert nothing_in(runs)


def test_cv_refuses_more_folds_than_rows_naming_the_folds_creating_nothing(tmp_path):
    runs = tmp_path / "runs"
    code, err = run("cv", CONFIGS / "xor.yaml", "--folds", "5", "--set", "data.n_samples=4", "--runs-dir", runs)
    assert code == 2 and "5 folds need at least 5 rows; the data has 4" in err and "--folds" in err, err
    assert nothing_in(runs)


def test_a_sweep_refuses_a_trial_that_train_would_refuse_naming_the_trial_and_its_line(files, tmp_path):
    (tmp_path / "iris.yaml").write_text((files / "iris.yaml").read_text())
    (tmp_path / "units.yaml").write_text(
        "base: iris.yaml\nmethod: grid\nparameters:\n  model.layers.1.units: [3, 5]\nmetric: val_loss\n"
    )
    runs = tmp_path / "runs"
    code, err = run("sweep", tmp_path / "units.yaml", "--runs-dir", runs)
    assert code == 2, err
    assert "units.yaml:4" in err and "trial 1 (model.layers.1.units=5)" in err and "3 classes" in err, err
    assert nothing_in(runs)
