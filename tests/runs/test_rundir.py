"""Run directories: exclusive creation, unusable runs dirs refused up front, the layout helper."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from backprop_cli.errors import RunDirError
from backprop_cli.runs import rundir
from backprop_cli.runs.rundir import RunFiles, create_run_dir, is_run_dir

NOON = datetime(2024, 5, 17, 12, 0, 0)


def test_a_run_directory_is_named_after_the_run_the_time_and_four_hex_digits(tmp_path):
    run = create_run_dir(tmp_path / "runs", "mnist-mlp", now=NOON)
    assert run.parent == tmp_path / "runs"
    assert re.fullmatch(r"mnist-mlp-20240517-120000-[0-9a-f]{4}", run.name)
    assert (run / "checkpoints").is_dir()


def test_two_runs_with_the_same_name_in_the_same_second_get_distinct_directories(tmp_path):
    runs = {create_run_dir(tmp_path, "sweep", now=NOON) for _ in range(20)}
    assert len(runs) == 20 and all(run.is_dir() for run in runs)


def test_a_taken_random_suffix_is_retried_rather_than_reused(tmp_path, monkeypatch):
    suffixes = iter(["abcd", "abcd", "beef"])
    monkeypatch.setattr(rundir.secrets, "token_hex", lambda n: next(suffixes))
    first = create_run_dir(tmp_path, "x", now=NOON)
    (first / "checkpoints" / "mine").write_text("kept")
    second = create_run_dir(tmp_path, "x", now=NOON)
    assert (first.name, second.name) == ("x-20240517-120000-abcd", "x-20240517-120000-beef")
    assert (first / "checkpoints" / "mine").read_text() == "kept"


def test_a_runs_dir_under_a_regular_file_is_refused_and_nothing_is_created(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunDirError) as info:
        create_run_dir(tmp_path / "file" / "runs", "mlp", now=NOON)
    message = str(info.value)
    assert message.startswith(f"cannot create run directory {tmp_path}/file/runs/mlp-20240517-120000-")
    assert message.endswith(": Not a directory; choose another --runs-dir")
    assert info.value.exit_code == 2
    assert [p.name for p in tmp_path.iterdir()] == ["file"] and (tmp_path / "file").read_text() == "x"


def test_a_runs_dir_that_is_a_regular_file_is_refused(tmp_path):
    (tmp_path / "runs").write_text("x")
    with pytest.raises(RunDirError, match="cannot create run directory .*: Not a directory; choose another --runs-dir"):
        create_run_dir(tmp_path / "runs", "mlp", now=NOON)


@pytest.mark.parametrize("name", ["", ".hidden", "a/b", "..", "a\0b"])
def test_a_run_name_that_is_not_a_plain_directory_name_is_refused(tmp_path, name):
    with pytest.raises(RunDirError, match="invalid run name"):
        create_run_dir(tmp_path, name)
    assert list(tmp_path.iterdir()) == []


def test_run_files_names_every_file_of_a_run(tmp_path):
    files = RunFiles(tmp_path)
    assert files.config == tmp_path / "config.yaml"
    assert files.metrics == tmp_path / "metrics.jsonl"
    assert files.summary == tmp_path / "summary.json"
    assert files.last == tmp_path / "checkpoints" / "last.safetensors"
    assert files.best == tmp_path / "checkpoints" / "best.safetensors"
    assert files.lock == tmp_path / ".lock"
    assert RunFiles(str(tmp_path)) == files


def test_a_run_directory_has_its_config_and_metrics_or_checkpoints(tmp_path):
    run = create_run_dir(tmp_path, "r", now=NOON)
    assert not is_run_dir(run)  # no config.yaml yet
    (run / "config.yaml").write_text("seed: 0\n")
    assert is_run_dir(run)
    (run / "checkpoints").rmdir()
    assert not is_run_dir(run)
    (run / "metrics.jsonl").write_text("")
    assert is_run_dir(run)
    assert not is_run_dir(tmp_path / "missing") and not is_run_dir(run / "config.yaml")
