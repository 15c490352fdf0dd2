"""A command started warm (tests/warm_process.py) is what a cold `python -m backprop_cli` is from outside:
the same stdout, stderr and exit code, its own stdin, working directory and environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import warm_process

TINY = (
    "seed: 3\ndata: {dataset: spirals, n_samples: 60, validation_split: 0.2}\n"
    "model:\n  layers:\n    - {type: dense, units: 4, activation: tanh}\n    - {type: dense, units: 3}\n"
    "training: {epochs: 1, batch_size: 16}\n"
)


def cold(args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "backprop_cli", *args], capture_output=True, **kwargs)


def test_output_and_exit_codes_are_those_of_a_cold_start(tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY)
    for args in (["--version"], ["config", "validate", "tiny.yaml"], ["config", "validate", "missing.yaml"],
                 ["train", "tiny.yaml", "--set", "training.epochs=x"], ["no-such-verb"]):  # fmt: skip
        warm, reference = warm_process.run(args, cwd=tmp_path), cold(args, cwd=tmp_path)
        assert (warm.returncode, warm.stdout, warm.stderr) == (reference.returncode, reference.stdout, reference.stderr)
    assert {warm_process.run(a, cwd=tmp_path).returncode for a in (["--version"], ["nope"])} == {0, 2}


def test_stdin_cwd_and_environment_are_the_callers(tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY)
    runs = tmp_path / "runs"
    trained = warm_process.run(["train", "tiny.yaml", "--quiet", "--runs-dir", "runs"], cwd=tmp_path, text=True)
    assert trained.returncode == 0, trained.stderr
    run = trained.stdout.strip()
    assert (tmp_path / run).is_dir() and run.startswith("runs/")
    rows = "0.1,0.2\n-0.3,0.4\n"
    warm = warm_process.run(["predict", run, "-"], input=rows, cwd=tmp_path, text=True)
    reference = cold(["predict", run, "-"], input=rows, cwd=tmp_path, text=True)
    assert (warm.returncode, warm.stdout) == (0, reference.stdout) and len(warm.stdout.splitlines()) == 2
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    env = {**os.environ, "BACKPROP_DATA_DIR": str(empty)}  # MNIST is not there
    listed = warm_process.run(["data", "list"], env=env, text=True)
    assert listed.stdout == cold(["data", "list"], env=env, text=True).stdout
    assert listed.stdout != warm_process.run(["data", "list"], text=True).stdout  # where the tests' MNIST is
    assert runs.is_dir()


def test_an_environment_read_at_start_up_gets_a_warm_process_of_its_own():
    plain = dict(os.environ)
    other = {**plain, "BACKPROP_NO_NUMBA": "1"}
    assert warm_process._warm_for(plain) is not warm_process._warm_for(other)
    assert warm_process._warm_for({**plain, "COLUMNS": "70"}) is warm_process._warm_for(plain)


def test_the_tests_of_a_worker_share_one_warm_process():
    """pytest names the running test and phase in PYTEST_CURRENT_TEST: not a reason for another process."""
    plain = dict(os.environ)
    assert "PYTEST_CURRENT_TEST" in plain
    later = {**plain, "PYTEST_CURRENT_TEST": "tests/test_other.py::test_next (setup)"}
    assert warm_process._warm_for(later) is warm_process._warm_for(plain)


def test_a_signal_ends_the_command_as_it_ends_a_cold_one(tmp_path):
    (tmp_path / "long.yaml").write_text(TINY.replace("epochs: 1", "epochs: 100000"))
    read_end, write_end = os.pipe()
    started = warm_process.Started(
        warm_process._warm_for(dict(os.environ)).address, ["train", "long.yaml", "--runs-dir", "runs"],
        (os.open(os.devnull, os.O_RDONLY), write_end, write_end), tmp_path, dict(os.environ),
    )  # fmt: skip
    os.close(write_end)
    deadline = time.monotonic() + 60
    while not list((tmp_path / "runs").glob("*/metrics.jsonl")) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(started.pid, signal.SIGINT)
    assert started.wait(timeout=60) == -signal.SIGINT  # stopped between steps, then died by the signal, as cold
    os.close(read_end)


def test_a_warm_process_ends_with_the_process_that_started_it():
    """A pytest worker killed outright leaves no warm process behind (it watches its stdin for the end)."""
    code = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})\n"
        "from tests import warm_process\n"
        "warm_process.run(['--version'])\n"
        "print(next(iter(warm_process._warm.values())).process.pid, flush=True)\n"
        "import time; time.sleep(60)\n"
    )
    caller = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    warm = int(caller.stdout.readline())
    caller.kill()
    caller.wait()
    deadline = time.monotonic() + 30
    while _alive(warm) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(warm)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


LAYER = """
from backprop_cli import Layer


class Probe(Layer):
    def forward(self, x, training):
        return x

    def backward(self, dy):
        return dy
"""
PROBE = """\
import tempfile
from pathlib import Path

Path(__file__).with_name("tmpdir.txt").write_text(tempfile.gettempdir())
""" + LAYER


def test_the_temp_folder_is_the_callers_in_a_shared_warm_process(tmp_path):
    """TMPDIR does not choose the warm process: the command asks it again (Python keeps its first answer)."""
    (tmp_path / "probe.py").write_text(PROBE)
    (tmp_path / "probe.yaml").write_text(
        TINY.replace("layers:\n", "layers:\n    - {type: plugin, path: probe.py, class: Probe}\n", 1)
    )
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        env = {**os.environ, "TMPDIR": str(tmp_path / name)}
        assert warm_process._warm_for(env) is warm_process._warm_for(dict(os.environ))
        done = warm_process.run(["config", "validate", "probe.yaml"], cwd=tmp_path, env=env, text=True)
        assert done.returncode == 0, done.stderr
        assert (tmp_path / "tmpdir.txt").read_text() == str(tmp_path / name)


EXITS = {
    "atexit and a thread": (
        "import atexit, threading, time\n"
        "from pathlib import Path\n"
        "atexit.register(print, 'atexit ran')\n"
        "late = lambda: (time.sleep(0.2), Path(__file__).with_name('thread.txt').write_text('x'))\n"
        "threading.Thread(target=late).start()\n"
    ),
    "sys.exit with a text": "import sys\nsys.exit('bye from the plugin')\n",
    "sys.exit(-1)": "import sys\nsys.exit(-1)\n",
    "unflushed stdout": "import sys\nsys.stdout.write('no newline, still buffered')\n",
}


@pytest.mark.parametrize("body", EXITS.values(), ids=EXITS.keys())
def test_a_command_ends_as_a_cold_one_ends(tmp_path, body):
    """A warm command skips the interpreter's teardown: its atexit handlers, threads and buffers still end it."""
    (tmp_path / "probe.py").write_text(body + LAYER)
    (tmp_path / "probe.yaml").write_text(
        TINY.replace("layers:\n", "layers:\n    - {type: plugin, path: probe.py, class: Probe}\n", 1)
    )
    args = ["config", "validate", "probe.yaml"]
    warm = warm_process.run(args, cwd=tmp_path)
    made = (tmp_path / "thread.txt").exists()
    (tmp_path / "thread.txt").unlink(missing_ok=True)
    reference = cold(args, cwd=tmp_path)
    assert (warm.returncode, warm.stdout, warm.stderr) == (reference.returncode, reference.stdout, reference.stderr)
    assert made == (tmp_path / "thread.txt").exists()
