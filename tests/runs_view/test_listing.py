"""Finding runs and reading what each one says, whole, unfinished or damaged."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from backprop_cli.errors import RunDirError
from backprop_cli.runs.listing import Run, find_runs, list_runs, open_run, process_alive
from backprop_cli.runs.rundir import RunFiles
from tests.runs_view.builders import write_run


def _dead_pid() -> int:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(child.stdout)


def test_runs_are_listed_newest_first(runs_dir):
    assert [row["name"] for row in list_runs(runs_dir)] == ["live", "torn", "mlp", "sigmoid"]


def test_a_finished_run_is_listed_with_its_status_epochs_best_metric_test_figures_and_time(runs_dir):
    row = next(r for r in list_runs(runs_dir) if r["name"] == "mlp")
    assert row["status"] == "completed"
    assert (row["epochs_run"], row["epochs"]) == (5, 5)
    assert (row["best_metric"], row["best_epoch"]) == ("val_loss", 5)
    assert row["best_value"] == pytest.approx(2.0 * 0.6**5 * 1.1 + 0.05)
    assert (row["test_loss"], row["test_accuracy"]) == (0.21, 0.93)
    assert row["wall_time_s"] == pytest.approx(1.35)
    assert row["started"] == "2026-01-02T09:00:00"
    assert row["run"] == "mlp-20260102-090000-ab12"


def test_a_run_without_a_summary_is_running_and_its_figures_come_from_its_metrics(runs_dir):
    row = next(r for r in list_runs(runs_dir) if r["name"] == "live")
    assert row["status"] == "running"
    assert (row["epochs_run"], row["epochs"], row["best_epoch"]) == (2, 5, 2)
    assert row["wall_time_s"] is None and row["test_accuracy"] is None


def test_a_torn_last_metrics_line_is_skipped(runs_dir):
    run = open_run(runs_dir / "torn-20260103-090000-ab12")
    assert [r["epoch"] for r in run.metrics] == [1, 2, 3]


def test_a_running_summary_whose_process_is_gone_reads_as_killed(tmp_path):
    run_dir = write_run(tmp_path, status="running")
    assert Run(run_dir).status == "running"  # no PID recorded: nothing to say otherwise
    RunFiles(run_dir).lock.write_text(f"{_dead_pid()}\n")
    assert process_alive(run_dir) is False
    assert (Run(run_dir).status, Run(run_dir).recorded_status) == ("killed", "running")


def test_a_running_summary_held_by_a_live_process_reads_as_running(tmp_path):
    run_dir = write_run(tmp_path, status="running")
    RunFiles(run_dir).lock.write_text(f"{os.getpid()}\n")
    assert Run(run_dir).status == "running"


def test_a_finished_run_keeps_its_status_whatever_the_lock_says(tmp_path):
    run_dir = write_run(tmp_path, status="completed")
    RunFiles(run_dir).lock.write_text(f"{_dead_pid()}\n")
    assert Run(run_dir).status == "completed"


def test_directories_that_are_not_runs_are_left_out(runs_dir):
    (runs_dir / "notes").mkdir()
    (runs_dir / "half-made-20260105-090000-ffff" / "checkpoints").mkdir(parents=True)  # config not written yet
    (runs_dir / "README.txt").write_text("my runs")
    assert len(find_runs(runs_dir)) == 4


def test_an_empty_runs_directory_lists_nothing(tmp_path):
    assert list_runs(tmp_path) == []


def test_a_file_or_a_missing_path_as_runs_directory_is_a_run_dir_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunDirError, match="is not a directory"):
        list_runs(tmp_path / "file")
    with pytest.raises(RunDirError, match="no such directory"):
        list_runs(tmp_path / "nowhere")


def test_opening_a_runs_directory_as_a_run_points_at_its_newest_run(runs_dir):
    with pytest.raises(RunDirError) as err:
        open_run(runs_dir)
    assert "holds 4 run(s)" in str(err.value) and "live-20260104-090000-ab12" in str(err.value)


def test_opening_a_missing_run_says_how_to_find_one(tmp_path):
    with pytest.raises(RunDirError, match="backprop runs list"):
        open_run(tmp_path / "nope")


def test_a_run_name_alone_is_found_under_the_default_runs_directory(runs_dir, monkeypatch):
    monkeypatch.chdir(runs_dir.parent)
    assert open_run("mlp-20260102-090000-ab12").name == "mlp"


def test_a_run_with_an_unreadable_config_is_named_after_its_directory(tmp_path):
    run_dir = write_run(tmp_path, "broken", status=None)
    RunFiles(run_dir).config.write_bytes(b"name: [unclosed\n")
    run = Run(run_dir)
    assert (run.config, run.name, run.status) == ({}, "broken", "running")


def test_a_killed_trainer_not_yet_reaped_by_its_parent_counts_as_gone(tmp_path):
    run_dir = write_run(tmp_path, status="running")
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        RunFiles(run_dir).lock.write_text(f"{child.pid}\n")
        assert process_alive(run_dir) is True
        child.kill()
        deadline = time.monotonic() + 10
        while process_alive(run_dir) and time.monotonic() < deadline:  # SIGKILL lands asynchronously
            time.sleep(0.01)
        assert Run(run_dir).status == "killed"  # a zombie until the wait below
    finally:
        child.kill()
        child.wait()


@pytest.mark.parametrize("pid", ["²", "١٢", "-5", "12abc", ""])
def test_a_lock_holding_no_usable_pid_reads_as_unknown(tmp_path, pid):
    run_dir = write_run(tmp_path, status="running")
    RunFiles(run_dir).lock.write_text(pid + "\n")
    assert process_alive(run_dir) is None  # no PID to ask about: the recorded status stands
    assert Run(run_dir).status == "running"


def test_a_config_lookup_with_a_superscript_index_is_missing_not_a_crash(tmp_path):
    run = Run(write_run(tmp_path))
    assert run.config_value("model.layers.0.type") is not None
    assert run.config_value("model.layers.².type", "absent") == "absent"
