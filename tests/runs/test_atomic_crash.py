"""Real processes killed inside a write (SIGKILL at each crash point, a second Ctrl-C, a full disk):
the final name holds the old or the new complete file, never a partial one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from backprop_cli.runs.atomic import STAGES, remove_stale_temps
from backprop_cli.runs.checkpoint import load_checkpoint, save_checkpoint
from backprop_cli.runs.metrics_log import append_metrics, read_metrics

from .forge import run_python

OLD, NEW = b"old!" * 1000, b"NEW!" * 50_000
WRITE = "import sys; from backprop_cli.runs.atomic import atomic_write_bytes as w; w(sys.argv[1], b'NEW!' * 50_000)"
SAVE = """
import sys, numpy as np
from backprop_cli.runs.checkpoint import save_checkpoint
save_checkpoint(sys.argv[1], {"model.0.W": np.full((200, 100), 2.0, np.float32)}, {"epoch": 2})
"""
# The writer's exit after catching RunError, so the test sees its message and code.
UNDER_FSIZE_LIMIT = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)          # EFBIG as an error instead of a fatal signal
resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192)) # no file may grow past 8 KiB: a full disk
from backprop_cli.errors import RunError
{body}
try:
    write(sys.argv[1])
except RunError as err:
    print(err, file=sys.stderr)
    sys.exit(err.exit_code)
"""


def _killed_at(stage: str, code: str, target, match: str = "") -> None:
    env = {"BACKPROP_TEST_KILL_AT": stage, "BACKPROP_TEST_KILL_MATCH": match}
    result = run_python(code, str(target), env=env)
    assert result.returncode == -signal.SIGKILL, result.stderr


@pytest.mark.parametrize("stage", STAGES)
def test_sigkill_at_each_crash_point_leaves_the_old_or_the_new_whole_file(tmp_path, stage):
    target = tmp_path / "summary.json"
    target.write_bytes(OLD)
    _killed_at(stage, WRITE, target)
    expected = NEW if stage == "after_rename" else OLD
    assert target.read_bytes() == expected
    temps = [p for p in tmp_path.iterdir() if p != target]
    assert len(temps) == (0 if stage == "after_rename" else 1)
    assert remove_stale_temps(tmp_path) == temps
    assert list(tmp_path.iterdir()) == [target]


@pytest.mark.parametrize("stage", STAGES)
def test_sigkill_inside_a_checkpoint_save_leaves_a_loadable_checkpoint(tmp_path, stage):
    target = tmp_path / "last.safetensors"
    save_checkpoint(target, {"model.0.W": __import__("numpy").ones((200, 100), "float32")}, {"epoch": 1})
    _killed_at(stage, SAVE, target, match="last.safetensors")
    remove_stale_temps(tmp_path)
    checkpoint = load_checkpoint(target)
    assert checkpoint.meta["epoch"] == (2 if stage == "after_rename" else 1)
    assert float(checkpoint.tensors["model.0.W"][0, 0]) == checkpoint.meta["epoch"]
    assert list(tmp_path.iterdir()) == [target]


def test_the_kill_hook_only_fires_for_paths_containing_the_match(tmp_path):
    target = tmp_path / "summary.json"
    env = {"BACKPROP_TEST_KILL_AT": "half_written", "BACKPROP_TEST_KILL_MATCH": "last.safetensors"}
    assert run_python(WRITE, str(target), env=env).returncode == 0
    assert target.read_bytes() == NEW


def test_sigkill_halfway_through_a_metrics_append_leaves_a_torn_line_that_readers_skip(tmp_path):
    log = tmp_path / "metrics.jsonl"
    append_metrics(log, {"epoch": 1, "train_loss": 0.5})
    code = "import sys; from backprop_cli.runs.metrics_log import append_metrics as a; a(sys.argv[1], {'epoch': 2})"
    _killed_at("half_written", code, log, match="metrics.jsonl")
    assert not log.read_text().endswith("\n")  # the torn line is really there
    assert read_metrics(log) == [{"epoch": 1, "train_loss": 0.5}]


def test_a_second_ctrl_c_during_a_paused_write_exits_at_once_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "last.safetensors"
    target.write_bytes(OLD)
    # The trainer's handlers: the first SIGINT sets a flag, the second restores SIG_DFL and re-raises.
    code = f"""
import os, signal, sys
def second(signum, frame):
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)
def first(signum, frame):
    signal.signal(signal.SIGINT, second)
    print("flag set", file=sys.stderr, flush=True)
signal.signal(signal.SIGINT, first)
{WRITE}
"""
    env = {**os.environ, "BACKPROP_TEST_PAUSE_AT": "before_rename", "BACKPROP_TEST_PAUSE_SECONDS": "30"}
    proc = subprocess.Popen([sys.executable, "-c", code, str(target)], env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr.readline().startswith("backprop-test: paused at before_rename")
        proc.send_signal(signal.SIGINT)
        assert proc.stderr.readline() == "flag set\n"  # the write goes on sleeping, not dying
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == -signal.SIGINT
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()
    assert target.read_bytes() == OLD
    assert len(remove_stale_temps(tmp_path)) == 1
    assert list(tmp_path.iterdir()) == [target]


def test_a_full_disk_during_an_atomic_write_is_a_run_error_and_the_old_file_survives(tmp_path):
    target = tmp_path / "last.safetensors"
    target.write_bytes(OLD)
    body = "from backprop_cli.runs.atomic import atomic_write_bytes\n"
    body += "write = lambda p: atomic_write_bytes(p, b'N' * 100_000)"
    result = run_python(UNDER_FSIZE_LIMIT.format(body=body), str(target))
    assert result.returncode == 1
    assert f"cannot write {target}: File too large" in result.stderr
    assert "Traceback" not in result.stderr
    assert target.read_bytes() == OLD
    assert list(tmp_path.iterdir()) == [target]  # the temp was removed by the writer itself


def test_a_full_disk_during_a_checkpoint_save_is_a_run_error_and_the_old_checkpoint_loads(tmp_path):
    target = tmp_path / "last.safetensors"
    save_checkpoint(target, {"w": __import__("numpy").zeros(4)}, {"epoch": 6})
    body = "import numpy as np\nfrom backprop_cli.runs.checkpoint import save_checkpoint\n"
    body += "write = lambda p: save_checkpoint(p, {'w': np.ones(100_000)}, {'epoch': 7})"
    result = run_python(UNDER_FSIZE_LIMIT.format(body=body), str(target))
    assert result.returncode == 1 and "File too large" in result.stderr
    assert load_checkpoint(target).meta["epoch"] == 6
    assert list(tmp_path.iterdir()) == [target]


def test_a_full_disk_during_a_metrics_append_cuts_the_partial_line_away(tmp_path):
    log = tmp_path / "metrics.jsonl"
    epoch = 0
    while not log.exists() or log.stat().st_size < 7500:  # then a 1 KB line crosses 8 KiB
        epoch += 1
        append_metrics(log, {"epoch": epoch, "train_loss": 0.123456789})
    before = log.read_bytes()
    body = "from backprop_cli.runs.metrics_log import append_metrics\n"
    body += "write = lambda p: append_metrics(p, {'epoch': 80, 'pad': 'x' * 1000})"
    result = run_python(UNDER_FSIZE_LIMIT.format(body=body), str(log))
    assert result.returncode == 1 and f"cannot write {log}: File too large" in result.stderr
    assert log.read_bytes() == before
