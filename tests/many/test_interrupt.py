"""Ctrl-C on a sweep, through real signals: running trials checkpoint, exit 130; --resume finishes the
rest bit-identically; a second --resume of a finished sweep changes nothing."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
from pathlib import Path

from reliability.helpers import assert_same_run, environment, n_metric_lines, start, wait_until

from .conftest import sweep, sweep_dir, trials_of


def snapshot(directory: Path) -> dict[str, str]:
    """Every file under the sweep directory by content (the lock files' PIDs aside)."""
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def test_ctrl_c_checkpoints_running_trials_and_resume_finishes_them_bit_identically(files, local_slow, tmp_path):
    # the whole process group, as a terminal's Ctrl-C: the client and its local workers all get SIGINT
    proc = start("sweep", files / "slow.yaml", "--workers", "2", "--runs-dir", tmp_path, "--json",
                 stdout=subprocess.PIPE, start_new_session=True, env=environment())  # fmt: skip
    wait_until(lambda: _started(tmp_path), timeout=60, what="a trial's first epoch")
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGINT, err  # died by SIGINT: the shell reports 130
    assert "did not finish; continue with: backprop sweep --resume" in err
    directory = sweep_dir(tmp_path)
    statuses = [json.loads((r / "summary.json").read_text())["status"] for r in directory.glob("trial-*")]
    assert "interrupted" in statuses
    assert len((directory / "results.jsonl").read_text().splitlines()) < 2

    trials = trials_of(sweep("--resume", directory))
    assert [t["status"] for t in trials] == ["completed", "completed"]
    reference = {t["trial"]: t for t in map(json.loads, (local_slow / "results.jsonl").read_text().splitlines())}
    for t in trials:
        assert t["val_accuracy"] == reference[t["trial"]]["val_accuracy"]
        assert_same_run(Path(reference[t["trial"]]["run_dir"]), Path(t["run_dir"]))

    before = snapshot(directory)
    again = sweep("--resume", directory)
    assert trials_of(again) == trials
    assert snapshot(directory) == before


def _started(runs_dir: Path) -> bool:
    """A trial has logged an epoch (so the Ctrl-C lands inside a running trial)."""
    found = [p for p in runs_dir.iterdir() if p.is_dir()]
    return bool(found) and any(n_metric_lines(r) >= 1 for r in found[0].glob("trial-*"))


def test_a_trial_still_held_by_another_process_is_left_for_a_later_resume(files, tmp_path):
    from backprop_cli.many.plans import new_sweep
    from backprop_cli.many.spec import load_sweep
    from backprop_cli.many.study import read_plan
    from backprop_cli.runs.rundir import RunLock

    (files / "two.yaml").write_text("base: iris.yaml\nparameters: {optimizer.lr: [0.01, 0.03]}\n")
    directory = new_sweep(load_sweep(files / "two.yaml"), tmp_path, threads=1)  # made, not run
    held = directory / read_plan(directory).trials[0].runs[0]
    with RunLock(held):  # as a worker of a client that was killed would still hold it
        result = sweep("--resume", directory, "--workers", "1")
    assert [t["trial"] for t in trials_of(result)] == [1]
    assert "1 trial(s) did not finish" in result.stderr
    assert [t["status"] for t in trials_of(sweep("--resume", directory, "--workers", "1"))] == ["completed"] * 2
