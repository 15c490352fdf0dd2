"""A full disk while training, a runs dir unusable from the start, stdout
on a full device or a closed pipe.

As root, `chmod` does not make a directory read-only, so the faults are real ones: a tiny tmpfs that
the test fills (ENOSPC) when it can mount one, and RLIMIT_FSIZE lowered on the training process
(EFBIG) while it is paused inside a write by the atomic writer's test hook.
"""

from __future__ import annotations

import resource
import signal
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from .helpers import (
    BACKPROP,
    assert_same_run,
    assert_user_error,
    assert_whole_files,
    backprop,
    checkpoint_epoch,
    environment,
    in_process,
    only_run,
    pause_at,
    resume,
    start_train,
    summary,
    temps,
    wait_stopped,
)


def ignore_sigxfsz() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a file past the limit: EFBIG, not a killed process


def mount_tmpfs(mount_point, options: str) -> bool:
    mount_point.mkdir(exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount_point)], capture_output=True)
    return done.returncode == 0


def can_mount_tmpfs() -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        if not mount_tmpfs(Path(tmp) / "probe", "size=64k"):
            return False
        subprocess.run(["umount", "-l", str(Path(tmp) / "probe")], capture_output=True)
        return True


needs_mount = pytest.mark.skipif(
    not can_mount_tmpfs(), reason="mounting a tmpfs needs root; RLIMIT_FSIZE covers the rest"
)


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A 512 KiB tmpfs: room for a run, and a disk the test can fill."""
    mount_point = tmp_path / "mnt"
    assert mount_tmpfs(mount_point, "size=512k")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def fill(directory) -> None:
    with open(directory / "filler", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:  # ENOSPC: full
            pass


# ---- 11: disk full while writing a checkpoint, a metrics line or the summary -----------------------
@needs_mount
def test_a_full_disk_during_a_checkpoint_fails_cleanly_keeps_the_last_good_one_and_resumes_identical(
    configs, reference, tiny_tmpfs
):
    runs_dir = tiny_tmpfs / "runs"
    trainer = start_train(configs["fast"], runs_dir, env=pause_at("temp_opened", "last.safetensors", 1, seconds=0))
    wait_stopped(trainer, "backprop-test: paused at temp_opened")
    fill(tiny_tmpfs)  # epoch 2's checkpoint has its temp open and nothing written yet
    trainer.send_signal(signal.SIGCONT)
    _, err = trainer.communicate(timeout=60)
    run = only_run(runs_dir)
    assert trainer.returncode == 1, err
    assert "Traceback" not in err
    assert "last.safetensors: No space left on device (epoch 2); last good checkpoint: epoch 1" in err
    assert temps(run) == []
    assert checkpoint_epoch(run) == (1, 0)
    assert_whole_files(run)
    (tiny_tmpfs / "filler").unlink()
    assert resume(run).returncode == 0  # and resume drops the logged line of the epoch that failed
    assert_same_run(reference("fast"), run)


# (file the hook pauses in, stage, the file that then fails, last good checkpoint afterwards)
WRITE_FAULTS = {
    "checkpoint": ("last.safetensors", "temp_opened", "last.safetensors", 1),
    "metrics line": ("metrics.jsonl", "half_written", "metrics.jsonl", 1),
    "summary": ("summary.json", "temp_opened", "summary.json", 2),
}


@pytest.mark.parametrize("fault", WRITE_FAULTS)
def test_a_write_error_exits_1_naming_the_file_and_last_good_checkpoint_and_the_run_resumes_identical(
    configs, reference, tmp_path, fault
):
    match, stage, failing, last_good = WRITE_FAULTS[fault]
    runs_dir = tmp_path / "runs"
    trainer = start_train(
        configs["fast"], runs_dir, env=pause_at(stage, match, 1, seconds=0), preexec_fn=ignore_sigxfsz
    )
    wait_stopped(trainer, f"backprop-test: paused at {stage}")
    run = only_run(runs_dir)
    # checkpoint: 2 KiB, under a checkpoint (~4 KiB) but over a "failed" summary.json (~0.7 KiB);
    # metrics line: the size the log has now, half a line in; summary: 16 bytes
    limit = 2048 if fault == "checkpoint" else (run / match).stat().st_size if fault == "metrics line" else 16
    resource.prlimit(trainer.pid, resource.RLIMIT_FSIZE, (limit, limit))
    trainer.send_signal(signal.SIGCONT)
    _, err = trainer.communicate(timeout=60)
    assert trainer.returncode == 1, err
    assert "Traceback" not in err
    assert f"{failing}: File too large (epoch 2); last good checkpoint: epoch {last_good}" in err
    assert temps(run) == []
    assert checkpoint_epoch(run) == (last_good, 0)
    assert_whole_files(run)
    if fault == "checkpoint":  # the other two leave no room for even a small summary.json
        assert summary(run)["status"] == "failed"
        assert "File too large" in summary(run)["stop_reason"]
    assert resume(run).returncode == 0
    assert_same_run(reference("fast"), run)


# ---- 12: a runs dir unusable from the start ---------------------------------------------------------
def test_an_unusable_runs_dir_is_refused_before_any_data_is_loaded_and_nothing_is_created(tmp_path):
    config = tmp_path / "needs-data.yaml"  # its data file does not exist: loading it would fail differently
    config.write_text("data: {path: missing.csv, target: label}\nmodel: {layers: [{type: dense, units: 2}]}\n")
    (tmp_path / "a-file").write_text("not a directory\n")
    before = sorted(tmp_path.rglob("*"))
    under_a_file = backprop("train", config, "--runs-dir", tmp_path / "a-file" / "runs")
    assert_user_error(under_a_file, 2, "cannot create run directory", "Not a directory", "choose another --runs-dir")
    assert sorted(tmp_path.rglob("*")) == before
    not_permitted = in_process("train", config, "--runs-dir", "/sys/backprop-runs")  # EPERM even for root
    assert_user_error(not_permitted, 2, "cannot create run directory /sys/backprop-runs/", "choose another --runs-dir")


@needs_mount
def test_a_read_only_runs_dir_is_refused_with_the_reason(tmp_path):
    mount_point = tmp_path / "ro"
    assert mount_tmpfs(mount_point, "ro,size=64k")
    try:
        config = tmp_path / "needs-data.yaml"
        config.write_text("data: {path: missing.csv, target: label}\nmodel: {layers: [{type: dense, units: 2}]}\n")
        result = in_process("train", config, "--runs-dir", mount_point / "runs")
        assert_user_error(result, 2, "cannot create run directory", "Read-only file system", "--runs-dir")
        assert list(mount_point.iterdir()) == []
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


# ---- 13: stdout on a full device or a closed pipe --------------------------------------------------
@pytest.fixture(scope="module")
def many_rows(tmp_path_factory):
    path = tmp_path_factory.mktemp("rows") / "rows.csv"
    x = np.random.default_rng(0).uniform(-1, 1, size=(20_000, 2))
    np.savetxt(path, x, delimiter=",", header="x0,x1", comments="", fmt="%.4f")
    return path


def test_predict_to_a_full_device_exits_1_with_one_message(reference, many_rows):
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [*BACKPROP, "predict", str(reference("fast")), str(many_rows), "--proba"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=environment(),
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: cannot write to stdout: No space left on device; write the output somewhere with free space"
    )


@pytest.mark.parametrize("fmt", ["csv", "npy"])  # json lines take csv's path: text through sys.stdout
def test_predict_into_a_pipe_closed_early_exits_141_without_a_word(reference, many_rows, fmt):
    proc = subprocess.Popen(
        [*BACKPROP, "predict", str(reference("fast")), str(many_rows), "--proba", "--format", fmt],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment(),
    )
    assert proc.stdout.read(10)  # the reader takes a little, then goes away
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert err == ""  # no traceback, no "Exception ignored" noise


def test_predict_piped_into_head_in_a_real_shell(reference, many_rows):
    script = '"$@" | head -1; echo "status=${PIPESTATUS[0]}"'
    argv = [*BACKPROP, "predict", str(reference("fast")), str(many_rows), "--proba"]
    out = subprocess.run(
        ["bash", "-c", script, "bash", *argv], capture_output=True, text=True, env=environment(), timeout=60
    )
    assert out.stdout.splitlines() == ["0,1,2", "status=141"]
    assert out.stderr == ""
