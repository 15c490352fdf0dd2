"""Real training processes interrupted by real signals, resumed, compared.

"Identical" is strict: every model.* and optimizer.* tensor byte for byte (which also tells -0.0 from
0.0) and every metrics.jsonl line except epoch_time_s, against an uninterrupted run of the same config.
The atomic writer's test hooks (BACKPROP_TEST_KILL_AT / PAUSE_AT, see runs/atomic.py) put a SIGKILL or
a pause at an exact point of an exact write, so that those scenarios do not depend on timing.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from backprop_cli.runs.atomic import STAGES

from .helpers import (
    assert_same_run,
    assert_user_error,
    assert_whole_files,
    backprop,
    checkpoint_epoch,
    in_process,
    kill_at,
    metrics,
    n_metric_lines,
    only_run,
    pause_at,
    resume,
    run_all,
    runs_in,
    signal_mid_epoch,
    start,
    start_train,
    summary,
    temps,
    train,
    wait_for_line,
    wait_stopped,
)


# ---- 1, 2: SIGINT and SIGTERM ----------------------------------------------------------------------
def test_sigint_mid_epoch_saves_a_step_exact_checkpoint_exits_130_and_resumes_bit_identical(
    configs, reference, tmp_path
):
    for attempt in range(4):  # a signal that happens to land between two epochs proves less: try again
        run, proc = signal_mid_epoch(configs["slow"], tmp_path / f"try{attempt}", signal.SIGINT)
        assert proc.returncode == -signal.SIGINT  # died by SIGINT: the shell reports 130
        if checkpoint_epoch(run)[1] > 0:
            break
    epoch, batch = checkpoint_epoch(run)
    assert batch > 0, "the signal never landed inside an epoch"
    assert summary(run)["status"] == "interrupted"
    assert summary(run)["stop_reason"] == "SIGINT received"  # shown as `stopped: SIGINT received`, said once
    assert n_metric_lines(run) == epoch  # the partial epoch is not logged
    assert_whole_files(run)
    result = resume(run)
    assert result.returncode == 0, result.stderr
    assert_same_run(reference("slow"), run)
    assert summary(run)["status"] == "completed"


def test_sigterm_during_a_save_lets_it_finish_exits_143_and_resumes_bit_identical(configs, reference, tmp_path):
    proc = start_train(configs["fast"], tmp_path, env=pause_at("temp_opened", "last.safetensors", seconds=0))
    wait_stopped(proc, "backprop-test: paused at temp_opened")  # inside epoch 1's checkpoint write
    proc.send_signal(signal.SIGTERM)  # delivered when it continues: the handler only sets a flag
    proc.send_signal(signal.SIGCONT)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGTERM  # the shell reports 143
    run = only_run(tmp_path)
    assert checkpoint_epoch(run) == (1, 0)  # the save it was in finished; nothing more ran
    assert_whole_files(run)
    assert summary(run)["status"] == "interrupted"
    assert "SIGTERM" in summary(run)["stop_reason"]
    assert resume(run).returncode == 0
    assert_same_run(reference("fast"), run)


# ---- 3: a second Ctrl-C during the save ------------------------------------------------------------
def test_second_sigint_during_a_save_exits_at_once_leaving_whole_files_and_resume_stays_identical(
    configs, reference, tmp_path
):
    env = pause_at("half_written", "last.safetensors", skip=1)  # epoch 2's checkpoint, half written
    proc = start_train(configs["fast"], tmp_path, env=env)
    wait_for_line(proc.stderr, "backprop-test: paused at half_written")
    proc.send_signal(signal.SIGINT)  # the first: finish the step, save, stop
    time.sleep(0.3)  # let its handler run before the second arrives (pending signals merge)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)  # the second: die now
    proc.communicate(timeout=20)
    assert proc.returncode == -signal.SIGINT
    assert time.monotonic() - sent < 5, "the second Ctrl-C did not end the process at once"
    run = only_run(tmp_path)
    assert checkpoint_epoch(run) == (1, 0)  # last: the previous complete checkpoint
    assert [t.name.startswith(".last.safetensors.tmp-") for t in temps(run)] == [True]
    assert_whole_files(run)
    assert resume(run).returncode == 0
    assert temps(run) == []  # the dead writer's temp was removed at the next start
    assert_same_run(reference("fast"), run)


# ---- 4, 5, 6 (and 7's run without a checkpoint): SIGKILL at exact points, all runs at once -------------
# name -> (stage, file, matching writes let through): where the test hook SIGKILLs the run
KILLS = {
    **{stage: (stage, "last.safetensors", 1) for stage in STAGES},  # inside epoch 2's checkpoint write
    "between epochs": ("after_rename", "summary.json", 1),  # epoch 2 fully written, epoch 3 not begun
    "torn metrics line": ("half_written", "metrics.jsonl", 1),  # half of epoch 2's line appended
    "no checkpoint yet": ("temp_opened", "last.safetensors", 0),  # epoch 1 logged, never checkpointed
    "held": ("after_rename", "summary.json", 0),  # after epoch 1: for the test of two resumes at once
}


@dataclass
class Killed:
    run: Path
    code: int
    last: tuple[int, int] | None  # (epochs, batches) of last.safetensors after the kill
    temps: int
    status: str | None
    metrics_bytes: bytes
    readers: dict  # what eval / runs show / plot said about the run as the kill left it
    resumed: object = None


@pytest.fixture(scope="module")
def killed(configs, tmp_path_factory) -> dict[str, Killed]:
    """Each KILLS run as a real process, killed by the hook; what it left; readers; then --resume."""
    base = tmp_path_factory.mktemp("killed")
    plans = {name: (base / name.replace(" ", "-"), kill_at(*where)) for name, where in KILLS.items()}
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(train, configs["fast"], d, env=env) for name, (d, env) in plans.items()}
        codes = {name: f.result().returncode for name, f in futures.items()}
    out = {}
    for name in KILLS:
        run = only_run(plans[name][0])
        last = checkpoint_epoch(run) if (run / "checkpoints" / "last.safetensors").exists() else None
        status = summary(run)["status"] if (run / "summary.json").exists() else None
        readers = {}
        if name in STAGES:
            readers["eval"] = in_process("eval", run, "--json")  # the CLI's own code, without a start-up
        if name == "torn metrics line":
            readers["runs show"] = in_process("runs", "show", run)
            readers["plot"] = in_process("plot", run, "-o", base / "curves.png")
        out[name] = Killed(
            run, codes[name], last, len(temps(run)), status, (run / "metrics.jsonl").read_bytes(), readers
        )
        if name != "torn metrics line":
            assert_whole_files(run)
    to_resume = [k for name, k in out.items() if name != "held"]
    resumed = run_all([("train", "--resume", k.run, "--threads", "1", "--quiet") for k in to_resume])
    for k, result in zip(to_resume, resumed):
        k.resumed = result
    return out


def assert_resumed_identical(k: Killed, reference: Path) -> None:
    assert k.resumed.returncode == 0, k.resumed.stderr
    assert temps(k.run) == []  # the dead writer's temp was removed at the next start
    assert [m["epoch"] for m in metrics(k.run)] == [1, 2, 3]  # no epoch duplicated or missing
    assert_same_run(reference, k.run)


def test_sigkill_between_epochs_resumes_without_duplicated_or_missing_epochs(killed, reference):
    k = killed["between epochs"]
    assert k.code == -signal.SIGKILL
    assert k.status == "running"  # nobody got to say otherwise
    assert k.last == (2, 0)
    assert_resumed_identical(k, reference("fast"))  # and the kernel released the dead process's lock


@pytest.mark.parametrize("stage", STAGES)
def test_sigkill_inside_a_checkpoint_write_leaves_the_old_or_new_whole_file_and_resumes_identical(
    killed, reference, stage
):
    k = killed[stage]
    assert k.code == -signal.SIGKILL
    assert k.last == ((2, 0) if stage == "after_rename" else (1, 0))  # the old complete file or the new one
    assert k.temps == (0 if stage == "after_rename" else 1)
    evaluated = k.readers["eval"]
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["epoch"] in (1, 2)
    assert_resumed_identical(k, reference("fast"))


def test_a_torn_metrics_line_is_ignored_by_readers_and_repaired_on_resume(killed, reference):
    k = killed["torn metrics line"]
    assert k.code == -signal.SIGKILL
    assert k.metrics_bytes.count(b"\n") == 1 and not k.metrics_bytes.endswith(b"\n")  # epoch 2's line is torn
    for name, result in k.readers.items():
        assert result.returncode == 0 and "Traceback" not in result.stderr, (name, result.stderr)
    assert (k.run / "metrics.jsonl").read_bytes().endswith(b"\n")
    assert_resumed_identical(k, reference("fast"))  # valid JSONL again, epochs 1, 2, 3 once each


def test_resuming_a_run_that_never_saved_a_checkpoint_starts_from_scratch_identical_to_a_fresh_run(killed, reference):
    k = killed["no checkpoint yet"]
    assert k.code == -signal.SIGKILL
    assert k.last is None
    assert k.metrics_bytes.count(b"\n") == 1  # logged, but never checkpointed: resume drops the line
    assert_resumed_identical(k, reference("fast"))


# ---- 7: resume edge cases ---------------------------------------------------------------------------
def file_digests(run) -> dict[str, str]:
    return {str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest() for p in run.rglob("*") if p.is_file()}


def test_resuming_a_completed_run_says_so_exits_0_and_changes_no_byte(reference, tmp_path):
    run = shutil.copytree(reference("fast"), tmp_path / "done")
    before = file_digests(run)
    result = resume(run)  # a real process: it must not even take the lock
    assert result.returncode == 0, result.stderr
    assert "already completed (epoch 3/3)" in result.stderr
    assert result.stdout.strip() == str(run)
    assert file_digests(run) == before


def test_resuming_with_a_changed_config_lists_every_difference_and_changes_nothing(reference, tmp_path):
    run = shutil.copytree(reference("fast"), tmp_path / "done")
    before = file_digests(run)
    changed = in_process("train", "--resume", run, "--set", "optimizer.lr=0.5", "--set", "training.batch_size=16")
    fewer = in_process("train", "--resume", run, "--set", "training.epochs=2")
    assert_user_error(
        changed, 2, "optimizer.lr: 0.05 -> 0.5", "training.batch_size: 8 -> 16", "only a larger training.epochs"
    )
    assert_user_error(fewer, 2, "training.epochs: 3 -> 2")
    assert file_digests(run) == before


def test_resuming_something_that_is_not_a_run_is_a_usage_error(tmp_path):
    (tmp_path / "empty").mkdir()
    empty, missing = in_process("train", "--resume", tmp_path / "empty"), backprop("train", "--resume", tmp_path / "no")
    assert_user_error(empty, 2, "is not a run directory")
    assert_user_error(missing, 2, "is not a run directory")
    assert list((tmp_path / "empty").iterdir()) == []


def test_config_and_resume_together_with_more_epochs_continue_bit_identical_to_the_longer_run(
    configs, reference, tmp_path
):
    constant = "schedule.type=constant"  # a cosine schedule's shape depends on the total epochs
    assert train(configs["fast"], tmp_path, constant, "training.epochs=2").returncode == 0
    run = only_run(tmp_path)
    result = backprop(
        "train",
        configs["fast"],
        "--resume",
        run,
        "--set",
        constant,
        "--set",
        "training.epochs=4",
        "--threads",
        "1",
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    assert [m["epoch"] for m in metrics(run)] == [1, 2, 3, 4]
    assert summary(run)["epochs_run"] == 4
    assert_same_run(reference("fast", constant, "training.epochs=4"), run)


# ---- 8: two --resume of the same run ---------------------------------------------------------------
def test_a_second_resume_of_a_run_in_use_is_refused_naming_the_pid_and_a_sigkilled_holder_leaves_no_lock(
    killed, reference
):
    run = killed["held"].run  # SIGKILLed after epoch 1, not resumed by the fixture
    first = start("train", "--resume", run, "--threads", "1", "--quiet", env=pause_at("before_rename", "summary.json"))
    wait_for_line(first.stderr, "backprop-test: paused at")
    started = time.monotonic()
    second = in_process("train", "--resume", run, "--threads", "1", "--quiet")  # another process than the first
    assert_user_error(second, 2, f"is in use by PID {first.pid}")
    assert time.monotonic() - started < 10
    assert first.poll() is None  # the first is unaffected
    first.kill()
    first.communicate(timeout=20)
    third = resume(run)
    assert third.returncode == 0, third.stderr
    assert_same_run(reference("fast"), run)


# ---- 9: two runs, same name, same second -----------------------------------------------------------
def test_runs_started_together_under_one_name_get_distinct_whole_directories(configs, tmp_path):
    results = run_all(
        [
            (
                "train",
                configs["fast"],
                "--runs-dir",
                tmp_path,
                "--run-name",
                "same",
                "--set",
                "training.epochs=1",
                "--threads",
                "1",
                "--quiet",
            )
        ]
        * 2
    )
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    printed = {r.stdout.strip() for r in results}
    runs = runs_in(tmp_path)
    assert len(printed) == len(runs) == 2
    assert {str(r) for r in runs} == printed
    for run in runs:
        assert run.name.startswith("same-")
        assert_whole_files(run)
        assert summary(run)["run_dir"] == str(run)
        assert [m["epoch"] for m in metrics(run)] == [1]


# ---- 10: eval and predict on a run that is still training ------------------------------------------
def test_eval_and_predict_on_a_run_still_training_read_a_whole_checkpoint_and_name_its_epoch(configs, tmp_path):
    trainer = start_train(configs["fast"], tmp_path / "runs", env=pause_at("before_rename", "last.safetensors", 1))
    try:
        wait_for_line(trainer.stderr, "backprop-test: paused at before_rename")
        run = only_run(tmp_path / "runs")
        assert len(temps(run)) == 1  # epoch 2's checkpoint is written but not yet in place
        (tmp_path / "rows.csv").write_text("x0,x1\n0.1,0.2\n-0.5,0.3\n")
        scored = in_process("eval", run, "--json")  # readers in another process than the writer
        last = in_process("eval", run / "checkpoints" / "last.safetensors")
        predicted = in_process("predict", run, tmp_path / "rows.csv")
        assert trainer.poll() is None
    finally:
        trainer.kill()
        trainer.communicate(timeout=20)
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout)["epoch"] == 1
    assert last.returncode == 0, last.stderr
    assert "(epoch 1)" in last.stdout
    assert predicted.returncode == 0, predicted.stderr
    assert len(predicted.stdout.splitlines()) == 2
