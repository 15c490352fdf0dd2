"""RunLock: one owner per run directory, and no stale lock after its owner is SIGKILLed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from backprop_cli.errors import RunDirError
from backprop_cli.runs.rundir import RunLock

HOLD = """
import sys, time
from backprop_cli.runs.rundir import RunLock
with RunLock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(60)
"""


@pytest.fixture
def holder(tmp_path):
    """Another process that holds the lock on tmp_path until it is killed."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "locked\n"
    yield proc
    proc.kill()
    proc.wait()
    proc.stdout.close()


def test_a_second_owner_is_told_which_pid_holds_the_run(tmp_path, holder):
    with pytest.raises(RunDirError, match=rf"run {tmp_path} is in use by PID {holder.pid}; wait") as info:
        with RunLock(tmp_path):
            pass
    assert info.value.exit_code == 2


def test_the_lock_is_free_once_its_holder_is_sigkilled(tmp_path, holder):
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with RunLock(tmp_path):
        assert (tmp_path / ".lock").read_text() == f"{os.getpid()}\n"


def test_the_lock_is_exclusive_within_one_process_and_released_by_the_with_block(tmp_path):
    with RunLock(tmp_path):
        with pytest.raises(RunDirError, match=f"in use by PID {os.getpid()}"):
            RunLock(tmp_path).__enter__()
    with RunLock(tmp_path):
        pass


def test_locking_a_missing_run_directory_is_a_run_dir_error(tmp_path):
    with pytest.raises(RunDirError, match="cannot lock run .*missing: No such file or directory"):
        with RunLock(tmp_path / "missing"):
            pass
