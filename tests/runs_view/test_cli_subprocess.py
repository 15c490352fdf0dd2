"""The installed `backprop runs ...` and `backprop plot` in real subprocesses: stdout, stderr, exit codes.

Skipped until both are registered in `backprop_cli/cli/__init__.py`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.runs_view.builders import config, write_run

BACKPROP = str(Path(sys.executable).with_name("backprop"))


def backprop(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([BACKPROP, *map(str, args)], capture_output=True, text=True, timeout=60, cwd=cwd)


def test_runs_list_json_through_the_installed_command(runs_dir):
    done = backprop("runs", "list", runs_dir, "--json")
    assert (done.returncode, done.stderr) == (0, "")
    assert [row["name"] for row in json.loads(done.stdout)] == ["live", "torn", "mlp", "sigmoid"]


def test_runs_show_and_compare_json_through_the_installed_command(runs_dir):
    shown = backprop("runs", "show", runs_dir / "mlp-20260102-090000-ab12", "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["status"] == "completed"
    compared = backprop("runs", "compare", *sorted(runs_dir.iterdir())[:2], "--json")
    assert compared.returncode == 0 and len(json.loads(compared.stdout)["runs"]) == 2


@pytest.mark.parametrize("what", ["a file", "not a run"])
def test_a_path_that_is_no_runs_directory_or_no_run_exits_2_with_one_message(tmp_path, what):
    (tmp_path / "notes.txt").write_text("x")
    args = ("runs", "list", tmp_path / "notes.txt") if what == "a file" else ("runs", "show", tmp_path)
    done = backprop(*args)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_plot_writes_a_png_next_to_the_run_and_prints_its_path(tmp_path):
    run = write_run(tmp_path, "a", cfg=config(name="a"))
    done = backprop("plot", run)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"{run / 'plot.png'}\n", "")
    assert (run / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
