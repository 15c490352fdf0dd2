"""A run's name is a handle for its newest run, and click's usage errors are worded like every other error."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.reliability.helpers import in_process

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory) -> Path:
    """Three runs named q in runs/, made by one training copied twice, their stamps one second apart."""
    work = tmp_path_factory.mktemp("handles")
    done = in_process(
        "train", ROOT / "configs" / "xor.yaml", "--set", "training.epochs=1", "--run-name", "q", "--quiet", cwd=work
    )
    assert done.returncode == 0, done.stderr
    first = work / done.stdout.strip()
    stamps = ["20260101-000001-aaaa", "20260101-000002-bbbb", "20260101-000003-cccc"]
    for stamp in stamps:
        shutil.copytree(first, work / "runs" / f"q-{stamp}")
    shutil.rmtree(first)
    return work


def test_a_run_name_is_its_newest_run_for_eval_runs_show_and_export(three_runs):
    newest = "q-20260101-000003-cccc"
    evaluated = in_process("eval", "runs/q", "--json", cwd=three_runs)
    assert evaluated.returncode == 0, evaluated.stderr
    assert newest in json.loads(evaluated.stdout)["checkpoint"]
    shown = in_process("runs", "show", "q", "--json", cwd=three_runs)
    assert shown.returncode == 0, shown.stderr
    assert newest in shown.stdout and "000002" not in shown.stdout
    exported = in_process("export", "runs/q", "--format", "npz", cwd=three_runs)
    assert exported.returncode == 0, exported.stderr
    assert Path(three_runs / exported.stdout.strip()).parent.name == newest


def test_an_existing_path_is_never_taken_for_a_name(three_runs):
    (three_runs / "runs" / "q").mkdir()  # a plain folder called q: the path wins, and it is no run
    try:
        result = in_process("eval", "runs/q", cwd=three_runs)
        assert result.returncode == 2 and "not a run directory" in result.stderr
    finally:
        (three_runs / "runs" / "q").rmdir()


def test_a_glob_that_matched_several_runs_names_them_and_the_handle(three_runs):
    runs = sorted(str(p.relative_to(three_runs)) for p in (three_runs / "runs").iterdir())
    result = in_process("eval", *runs, cwd=three_runs)
    assert result.returncode == 2
    assert result.stderr.startswith("error: 3 runs matched:") and "runs/q" in result.stderr.splitlines()[-1]
    assert "unexpected extra" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "argv, wanted",
    [
        (["eval", "a", "b", "c"], "`backprop eval` takes CHECKPOINT_OR_RUN; these were left over: b c"),
        (["train", "configs/xor.yaml", "--epochs", "3"], "--set training.epochs="),
        (["train", "configs/xor.yaml", "--quite"], "did you mean --quiet?"),
        (["train", "configs/xor.yaml", "--set", "epochs=3"], "did you mean training.epochs?"),
        (["train", "configs/xor.yaml", "--set", "training.lr=3"], "did you mean optimizer.lr?"),
    ],
)
def test_usage_mistakes_say_what_to_write_instead(argv, wanted):
    result = in_process(*argv, cwd=ROOT)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ") and wanted in result.stderr, result.stderr
    assert "No such option" not in result.stderr and "Got unexpected" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_no_handle_is_made_up_when_no_run_has_the_name(tmp_path):
    os.makedirs(tmp_path / "runs")
    result = in_process("eval", "runs/nothing", cwd=tmp_path)
    assert result.returncode == 2 and "no such checkpoint or run directory" in result.stderr


def test_resume_takes_a_run_name_with_more_epochs(three_runs):
    result = in_process("train", "--resume", "runs/q", "--set", "training.epochs=2", "--json", cwd=three_runs)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["run_dir"].endswith("q-20260101-000003-cccc")
