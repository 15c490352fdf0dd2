"""Real `backprop` processes for the fault scenarios: run, signal, wait, and compare what they leave.

A command run to completion starts warm (tests/warm_process.py: a real process forked from one that has
imported the CLI); one that is signalled, limited or watched goes through the installed `backprop` script.
Training gets `--threads 1`, so that "bit-identical" compares runs made with the same thread count (the
thread count changes floating-point results).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as ReadTimeout  # not the builtin before Python 3.11
from pathlib import Path

import yaml
from safetensors.numpy import load_file

from backprop_cli.runs.checkpoint import load_checkpoint
from tests import warm_process
from tests.datafiles import mnist_data_dir

ROOT = Path(__file__).resolve().parents[2]
_SCRIPT = Path(sys.executable).with_name("backprop")
BACKPROP = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "backprop_cli"]
TRAIN_FLAGS = ("--threads", "1", "--quiet")


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKPROP_TEST_")}
    env.setdefault("BACKPROP_DATA_DIR", str(mnist_data_dir()))  # the full sets when present, else the slice
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def backprop(*args, env: dict[str, str] | None = None, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
    """Run `backprop ARGS...` to completion; text stdout and stderr captured. Started warm
    (tests/warm_process.py) unless the process needs more than a working directory and stdin text."""
    if set(kwargs) <= {"cwd", "input"}:
        return warm_process.run(args, env=env or environment(), timeout=timeout, text=True, **kwargs)
    return subprocess.run(
        [*BACKPROP, *map(str, args)],
        env=env or environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )


def in_process(*args, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`backprop ARGS...` through the same `main()` in this process: stdout, stderr and the exit code.

    For the long tables of bad inputs, whose every row takes the same path through the CLI; each
    scenario also has rows run as real processes. `env` is added to the environment, which is
    restored afterwards (training also caps the thread count there).
    """
    from backprop_cli.cli import main

    out, err, saved_env, saved_argv = io.StringIO(), io.StringIO(), dict(os.environ), sys.argv
    code = 0
    os.environ.update(env or {})
    try:
        with contextlib.chdir(cwd or Path.cwd()), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            sys.argv = ["backprop", *map(str, args)]
            main()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    finally:
        sys.argv = saved_argv
        os.environ.clear()
        os.environ.update(saved_env)
    return subprocess.CompletedProcess(["backprop", *map(str, args)], code, out.getvalue(), err.getvalue())


def start(*args, env: dict[str, str] | None = None, **kwargs) -> subprocess.Popen:
    """Start `backprop ARGS...` in the background; stderr is a pipe unless given."""
    kwargs.setdefault("stdout", subprocess.DEVNULL)
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen([*BACKPROP, *map(str, args)], env=env or environment(), text=True, **kwargs)


def train(config: Path, runs_dir: Path, *sets: str, env: dict[str, str] | None = None, **kwargs):
    """`backprop train CONFIG --runs-dir D [--set ...]` to completion."""
    return backprop("train", config, "--runs-dir", runs_dir, *TRAIN_FLAGS, *_sets(sets), env=env, **kwargs)


def start_train(config: Path, runs_dir: Path, *sets: str, env: dict[str, str] | None = None, **kwargs):
    return start("train", config, "--runs-dir", runs_dir, *TRAIN_FLAGS, *_sets(sets), env=env, **kwargs)


def resume(run: Path, *extra, env: dict[str, str] | None = None, **kwargs):
    """`backprop train --resume RUN` to completion."""
    return backprop("train", "--resume", run, *TRAIN_FLAGS, *extra, env=env, **kwargs)


def train_here(config: Path, runs_dir: Path, *sets: str, env: dict[str, str] | None = None):
    """`train` through `main()` in this process: for runs whose point is the result, not the process."""
    return in_process("train", config, "--runs-dir", runs_dir, *TRAIN_FLAGS, *_sets(sets), env=env)


def resume_here(run: Path, *extra, env: dict[str, str] | None = None):
    """`resume` through `main()` in this process."""
    return in_process("train", "--resume", run, *TRAIN_FLAGS, *extra, env=env)


def _sets(sets: Iterable[str]) -> list[str]:
    return [arg for item in sets for arg in ("--set", item)]


def run_all(commands: list[tuple], env: dict[str, str] | None = None, **kwargs) -> list[subprocess.CompletedProcess]:
    """Several `backprop` commands at once (they are mostly start-up time); results in order."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda args: backprop(*args, env=env, **kwargs), commands))


def timed_all(commands: list[tuple], **kwargs) -> list[tuple[subprocess.CompletedProcess, float]]:
    """run_all, each result with the CPU seconds its process used (user + system, from wait4).

    CPU time, not wall time: "refused early" is a claim about the work a process does, and a busy host
    (CI shares its cores) stretches wall time by scheduling alone.
    """
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda args: backprop_cpu_timed(*args, **kwargs), commands))


def backprop_cpu_timed(*args, env: dict[str, str] | None = None, timeout: float = 60, **kwargs):
    """`backprop ARGS...` to completion: its CompletedProcess and the CPU seconds it used."""
    proc = subprocess.Popen(
        [*BACKPROP, *map(str, args)],
        env=env or environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )
    with ThreadPoolExecutor(max_workers=2) as readers:  # both pipes at once: neither may fill and block the child
        out, err = readers.submit(proc.stdout.read), readers.submit(proc.stderr.read)
        try:
            stdout, stderr = out.result(timeout), err.result(timeout)
        except ReadTimeout:
            proc.kill()
            raise
        finally:
            proc.stdout.close()
            proc.stderr.close()
    _, status, usage = os.wait4(proc.pid, 0)  # reaped here, so that its rusage is its own
    proc.returncode = os.waitstatus_to_exitcode(status)
    completed = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    return completed, usage.ru_utime + usage.ru_stime


def limit_memory(limit: int = 256 * 2**20) -> Callable[[], None]:
    """A preexec_fn capping the child's address space (numpy and the CLI start well within 256 MiB)."""
    import resource

    return lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def wait_until(predicate: Callable[[], object], timeout: float = 30, what: str = "the condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.005)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def wait_for_line(stream, needle: str, timeout: float = 30) -> str:
    """Read a child's stderr until a line containing `needle` (the test hooks announce their pauses)."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return line
    raise AssertionError(f"no line with {needle!r} on stderr; got: {''.join(seen)[-2000:]}")


def wait_stopped(proc: subprocess.Popen, announced: str) -> None:
    """Wait for a child that the pause hook (BACKPROP_TEST_PAUSE_SECONDS=0) stops with SIGSTOP;
    a SIGCONT sent before it has stopped would be lost, and the child would then stop for good."""
    wait_for_line(proc.stderr, announced)
    wait_until(lambda: _process_state(proc.pid) == "T", what=f"process {proc.pid} to stop")


def _process_state(pid: int) -> str:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process (/proc/PID/stat, in clock ticks); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def signal_mid_epoch(config, runs_dir, signum: int):
    """Start a run, send `signum` a little after its first epoch was logged; (run dir, process)."""
    proc = start_train(config, runs_dir)
    run = wait_until(lambda: [r for r in runs_in(runs_dir) if n_metric_lines(r) >= 1], what="epoch 1")[0]
    # the first epoch's checkpoint writes take a few ms of the process's CPU, then the second epoch's steps
    # begin: counted in its own CPU time, which a busy host does not stretch as it stretches a sleep
    spent = cpu_seconds(proc.pid)
    wait_until(lambda: proc.poll() is not None or cpu_seconds(proc.pid) - spent >= 0.05, what="50 ms of CPU more")
    proc.send_signal(signum)
    proc.communicate(timeout=60)
    return run, proc


def only_run(runs_dir: Path) -> Path:
    runs = [p for p in Path(runs_dir).iterdir() if p.is_dir()]
    assert len(runs) == 1, runs
    return runs[0]


def n_metric_lines(run: Path) -> int:
    try:
        return (run / "metrics.jsonl").read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def runs_in(runs_dir: Path) -> list[Path]:
    return [p for p in Path(runs_dir).iterdir() if p.is_dir()] if Path(runs_dir).is_dir() else []


# ---- the atomic writer's test hooks (runs/atomic.py) ----------------------------------------------
def hooks(**settings) -> dict[str, str]:
    """The environment for the atomic writer's test hooks: kill_at, pause_at, match, skip, pause_seconds."""
    return environment(**{f"BACKPROP_TEST_{k.upper()}": str(v) for k, v in settings.items()})


def kill_at(stage: str, match: str, skip: int = 0) -> dict[str, str]:
    return hooks(kill_at=stage, kill_match=match, hook_skip=skip)


def pause_at(stage: str, match: str, skip: int = 0, seconds: float = 30) -> dict[str, str]:
    return hooks(pause_at=stage, kill_match=match, hook_skip=skip, pause_seconds=seconds)


def checkpoint_epoch(run, name: str = "last") -> tuple[int, int]:
    """(completed epochs, batches into the next) of a checkpoint."""
    progress = load_checkpoint(run / "checkpoints" / f"{name}.safetensors").meta["progress"]
    return progress["epoch"], progress["batch_in_epoch"]


# ---- what a run leaves ------------------------------------------------------------------------------
def state_bytes(run_or_file: Path) -> dict[str, tuple[str, tuple, bytes]]:
    """Every model.*, optimizer.* and ema.* tensor of the last checkpoint as (dtype, shape, raw bytes)."""
    path = run_or_file if run_or_file.is_file() else run_or_file / "checkpoints" / "last.safetensors"
    tensors = load_file(str(path))
    kept = {k: v for k, v in tensors.items() if k.startswith(("model.", "optimizer.", "ema."))}
    return {k: (str(v.dtype), v.shape, v.tobytes()) for k, v in kept.items()}


def metrics(run: Path) -> list[dict]:
    """metrics.jsonl, each line strictly parsed (NaN/Infinity are not JSON), without epoch_time_s."""
    lines = (run / "metrics.jsonl").read_text().splitlines()
    records = [json.loads(line, parse_constant=_no_constants) for line in lines]
    return [{k: v for k, v in r.items() if k != "epoch_time_s"} for r in records]


def _no_constants(name: str):
    raise AssertionError(f"metrics.jsonl holds {name}, which is not JSON")


def assert_same_run(reference: Path, run: Path) -> None:
    """Bit-identical: every model/optimizer tensor byte for byte, and every metrics line but its time."""
    expected, got = state_bytes(reference), state_bytes(run)
    assert any(k.startswith("optimizer.") for k in expected), sorted(expected)
    assert sorted(got) == sorted(expected)
    different = [k for k in expected if got[k] != expected[k]]
    assert not different, f"tensors differ: {different}"
    assert metrics(run) == metrics(reference)


def summary(run: Path) -> dict:
    return json.loads((run / "summary.json").read_text())


def assert_whole_files(run: Path) -> None:
    """Every file under the run parses; no final name holds a partial write (temps are hidden names)."""
    yaml.safe_load((run / "config.yaml").read_text())
    if (run / "metrics.jsonl").exists():
        data = (run / "metrics.jsonl").read_bytes()
        assert not data or data.endswith(b"\n"), "metrics.jsonl ends in a torn line"
        metrics(run)
    if (run / "summary.json").exists():
        summary(run)
    for checkpoint in (run / "checkpoints").glob("*.safetensors"):
        load_checkpoint(checkpoint)


def temps(run: Path) -> list[Path]:
    return [p for p in [*run.iterdir(), *(run / "checkpoints").iterdir()] if ".tmp-" in p.name]


def assert_user_error(result: subprocess.CompletedProcess, code: int, *fragments: str) -> None:
    """One message on stderr holding each fragment, the exit code, and never a traceback."""
    detail = f"exit {result.returncode}\nstdout: {result.stdout[-1500:]}\nstderr: {result.stderr[-3000:]}"
    assert result.returncode == code, detail
    assert "Traceback" not in result.stderr, detail
    for fragment in fragments:
        assert fragment in result.stderr, f"{fragment!r} not in stderr\n{detail}"
