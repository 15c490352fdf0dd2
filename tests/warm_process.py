"""`backprop ARGS` in a real child process, forked from a warm interpreter instead of started cold.

Most of a short command's second goes to starting Python and importing NumPy, numba, pydantic and the
layers, and a command's first kernel call adds ~1 s of numba setting up its compiler. A warm process
(one per pytest worker and environment) imports them and sets numba up once (the kernels themselves are
still loaded by the command that calls them), then forks for each command: the child takes the caller's
stdin, stdout and stderr (passed over a Unix socket), working directory, environment and arguments, and
runs `python -m backprop_cli` as a fresh process would. A command that exits (every command's way out)
ends as multiprocessing's forked children end: the exit code, threads joined, atexit handlers run, stdout
and stderr flushed (120 when that fails, as Python's own exit), then `os._exit`. The interpreter's teardown
would free every object the warm process made, copying each page the fork shares: 60-120 ms of every
command. An uncaught exception takes the interpreter's own exit, traceback and all. The caller gets a
`subprocess.CompletedProcess` as from `subprocess.run`.

What a fork cannot change is what the interpreter read when it started: so the warm process is chosen
by the whole environment except the variables the CLI reads only when a command runs (CALL_TIME_VARS),
and a different one (another HOME, thread cap, BACKPROP_NO_NUMBA...) gets a warm process of
its own. Tests about start-up itself (imports, the installed script) start processes as usual.

`python tests/warm_process.py ARGS` is the same call as a command (for the docs harness's shell).
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

CALL_TIME_VARS = ("COLUMNS", "LINES", "TERM", "BACKPROP_DATA_DIR", "BACKPROP_MAX_INPUT_BYTES", "BACKPROP_DATA_MIRROR",
                  "BACKPROP_READ_BY_INDEX_ABOVE", "BACKPROP_WARM_ADDRESS",
                  "PYTEST_CURRENT_TEST",  # pytest's, new at each test and phase: read by no one
                  # COLUMNS, LINES and TERM: read when a command makes its console (rich), none at import
                  "TMPDIR")  # fmt: skip  # read when a temp file is first made (the child forgets the parent's)
CALL_TIME_PREFIXES = ("BACKPROP_TEST_", "DOCS_")  # the fault hooks (read at the first write); the docs harness's
SHELL_VARS = ("_", "PWD", "OLDPWD", "SHLVL", "PS1", "PS2")  # what a shell exports (or drops) on its own
SHELL_PREFIXES = ("BASH_FUNC_",)
ADDRESS_VAR = "BACKPROP_WARM_ADDRESS"  # the warm process `python tests/warm_process.py ARGS` asks
KEEP_WARM = 3  # warm processes alive at once per caller; the least recently used one goes first
PRELOAD = (
    "backprop_cli.cli",
    "backprop_cli.config.load",
    "backprop_cli.nn.registry",
    "backprop_cli.train.session",
    "backprop_cli.cli.progress",
    "backprop_cli.runs.checkpoint",
    "matplotlib.figure",  # the pictures' (matplotlib reads its settings under HOME, which chooses the process)
    "matplotlib.backends.backend_agg",
)

# The warm process: import, listen, and for each request fork a watcher that forks the command's process.
# A request whose environment differs in what an interpreter reads at start-up is answered with pid 0.
_WARM = r"""
import importlib, json, os, select, signal, socket, struct, sys
settings = json.loads(sys.argv[2])
def key(env):
    return sorted((k, v) for k, v in env.items()
                  if k not in settings["call_time"] and not k.startswith(tuple(settings["prefixes"])))
mine = key(os.environ)
for name in settings["preload"]:
    try:
        importlib.import_module(name)
    except ImportError:  # an optional extra that is not installed: the command imports (and fails) as cold
        pass
if not os.environ.get("BACKPROP_NO_NUMBA"):  # numba's typing and lowering registries: ~1 s of every command
    try:                                       # whose first kernel call would load them (the kernels stay lazy)
        from numba.core.registry import cpu_target
        cpu_target.target_context.refresh()
    except ImportError:
        pass
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(sys.argv[1])
listener.listen(64)
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the watchers reap themselves
import gc; gc.freeze()
os.write(1, b"ready\n")
os.close(1)
while True:
    if 0 in select.select([listener, 0], [], [])[0]:  # our stdin's writer, the caller, is gone: so are we
        os._exit(0)
    conn, _ = listener.accept()
    head, fds, _, _ = socket.recv_fds(conn, 4, 3)
    size, = struct.unpack("!I", head)
    body = b""
    while len(body) < size:
        body += conn.recv(size - len(body))
    request = json.loads(body)
    if key(request["env"]) == mine and os.fork() == 0:
        break
    if key(request["env"]) != mine:
        conn.sendall(struct.pack("!i", 0))
    conn.close()
    for fd in fds:
        os.close(fd)
listener.close()
signal.signal(signal.SIGCHLD, signal.SIG_DFL)
pid = os.fork()
if pid != 0:
    for fd in fds:
        os.close(fd)
    conn.sendall(struct.pack("!i", pid))
    _, status = os.waitpid(pid, 0)
    conn.sendall(struct.pack("!i", os.waitstatus_to_exitcode(status)))
    os._exit(0)
conn.close()
for target, fd in enumerate(fds):
    os.dup2(fd, target)
    os.close(fd)
os.chdir(request["cwd"])
os.environ.clear()
os.environ.update(request["env"])
import tempfile; tempfile.tempdir = None  # gettempdir() keeps its first answer: ask the caller's TMPDIR again
sys.path[0] = request["cwd"]
sys.argv = [request["argv0"], *request["args"]]
del conn, listener, fds, request, head, body, size, pid, settings, mine
import runpy
try:
    runpy.run_module("backprop_cli", run_name="__main__", alter_sys=True)
    code = 0
except SystemExit as exit_:
    code = exit_.code
if code is None:
    code = 0
elif not isinstance(code, int):  # sys.exit("text"): the text on stderr, exit 1
    print(code, file=sys.stderr)
    code = 1
import atexit, threading
threading._shutdown()  # non-daemon threads, then concurrent.futures' own exit hooks
atexit._run_exitfuncs()
for name in ("stdout", "stderr"):
    try:
        getattr(sys, name).flush()
    except Exception:  # what Python's exit does when it cannot flush: say so, exit 120
        code = 120
        try:
            os.write(2, f"Exception ignored while flushing sys.{name}\n".encode())
        except OSError:
            pass
os._exit(code & 0xFF)
"""


class _Warm:
    """One warm process and the socket it listens on."""

    def __init__(self, env: dict[str, str]):
        short = "/tmp" if os.path.isdir("/tmp") else None  # a socket's path may not exceed ~100 bytes
        self.folder = tempfile.mkdtemp(prefix="backprop-warm-", dir=short)
        self.address = os.path.join(self.folder, "socket")
        self.process = subprocess.Popen(
            [sys.executable, "-c", _WARM, self.address, _SETTINGS],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=self.folder,
        )  # fmt: skip
        ready = self.process.stdout.readline()
        if ready != b"ready\n":
            raise RuntimeError(f"the warm process did not start (exit {self.process.wait()})")

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()
        Path(self.address).unlink(missing_ok=True)
        os.rmdir(self.folder)


_SETTINGS = json.dumps(
    {"preload": PRELOAD, "call_time": CALL_TIME_VARS + SHELL_VARS, "prefixes": CALL_TIME_PREFIXES + SHELL_PREFIXES}
)
_warm: dict[tuple, _Warm] = {}
_lock = threading.Lock()


def _key(env: dict[str, str]) -> tuple:
    ignored, prefixes = CALL_TIME_VARS + SHELL_VARS, CALL_TIME_PREFIXES + SHELL_PREFIXES
    started = {k: v for k, v in env.items() if k not in ignored and not k.startswith(prefixes)}
    return tuple(sorted(started.items()))


def _warm_for(env: dict[str, str]) -> _Warm:
    key = _key(env)
    with _lock:
        warm = _warm.pop(key, None) or _Warm(dict(key))
        _warm[key] = warm  # now the most recently used
        while len(_warm) > KEEP_WARM:
            _warm.pop(next(iter(_warm))).stop()
        return warm


@atexit.register
def _stop_all() -> None:
    with _lock:
        while _warm:
            _warm.popitem()[1].stop()


class Started:
    """A command started in a warm process: its pid (signals go to it) and its exit code, once it ends."""

    def __init__(self, address: str, args, fds: tuple[int, int, int], cwd, env: dict[str, str]):
        self.args = [str(a) for a in args]
        request = json.dumps({"args": self.args, "argv0": _MAIN, "cwd": str(cwd or os.getcwd()), "env": env}).encode()
        self._conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._conn.connect(address)
        socket.send_fds(self._conn, [struct.pack("!I", len(request))], list(fds))
        self._conn.sendall(request)
        self.pid = struct.unpack("!i", self._read(4))[0]  # 0: the warm process was started otherwise

    def wait(self, timeout: float | None = None) -> int:
        """The exit code (-N: killed by signal N), as subprocess reports it; TimeoutExpired after `timeout`."""
        self._conn.settimeout(timeout)
        try:
            data = self._read(4)
        except TimeoutError:
            raise subprocess.TimeoutExpired(self.args, timeout) from None
        self._conn.close()
        return struct.unpack("!i", data)[0]

    def _read(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self._conn.recv(size - len(data))
            if not chunk:
                raise RuntimeError("the warm process's watcher went away")
            data += chunk
        return data


_MAIN = str(Path(__file__).resolve().parents[1] / "backprop_cli" / "__main__.py")


def start(args, fds: tuple[int, int, int], *, cwd=None, env: dict[str, str] | None = None) -> Started:
    """`python -m backprop_cli ARGS` on the caller's stdin, stdout and stderr `fds` (pipes, a terminal...),
    started warm: the process's .pid, and .wait() for its exit code."""
    env = dict(os.environ if env is None else env)
    started = Started(_warm_for(env).address, args, fds, cwd, env)
    if started.pid == 0:
        raise RuntimeError("the warm process refused an environment it was chosen for")
    return started


def run(args, *, input: bytes | str | None = None, cwd=None, env: dict[str, str] | None = None,
        timeout: float | None = None, text: bool = False) -> subprocess.CompletedProcess:  # fmt: skip
    """Like `subprocess.run([python, -m, backprop_cli, *args], capture_output=True, ...)`, started warm."""
    stdin_r, stdin_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        started = start(args, (stdin_r, out_w, err_w), cwd=cwd, env=env)
    finally:
        for fd in (stdin_r, out_w, err_w):
            os.close(fd)
    data = input.encode() if isinstance(input, str) else input
    outputs: dict[int, bytes] = {}
    pumps = [threading.Thread(target=_feed, args=(stdin_w, data or b""), daemon=True)]
    pumps += [threading.Thread(target=_drain, args=(fd, outputs), daemon=True) for fd in (out_r, err_r)]
    for pump in pumps:
        pump.start()
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        code = started.wait(timeout)
    except subprocess.TimeoutExpired:
        os.kill(started.pid, signal.SIGKILL)
        started.wait()
        raise
    finally:
        for pump in pumps:
            pump.join(None if deadline is None else max(1.0, deadline - time.monotonic()))
    stdout, stderr = outputs.get(out_r, b""), outputs.get(err_r, b"")
    if text:
        stdout, stderr = _text(stdout), _text(stderr)
    return subprocess.CompletedProcess(started.args, code, stdout, stderr)


def _feed(fd: int, data: bytes) -> None:
    try:
        while data:
            data = data[os.write(fd, data) :]
    except BrokenPipeError:
        pass
    finally:
        os.close(fd)


def _drain(fd: int, outputs: dict[int, bytes]) -> None:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    outputs[fd] = b"".join(chunks)


def _text(data: bytes) -> str:
    """As subprocess's text mode reads a pipe: the locale's encoding, universal newlines."""
    import locale

    return data.decode(locale.getpreferredencoding(False)).replace("\r\n", "\n").replace("\r", "\n")


def address_for(env: dict[str, str]) -> str:
    """The socket of a warm process started in `env`, for commands run as `python tests/warm_process.py`
    with BACKPROP_WARM_ADDRESS set to it."""
    return _warm_for(env).address


def _as_command(args: list[str]) -> int:
    """`backprop ARGS` on this process's own stdin, stdout and stderr; signals it gets go to the command.
    Without a warm process for this environment, the command starts cold in this process's place."""
    address = os.environ.get(ADDRESS_VAR)
    started = Started(address, args, (0, 1, 2), None, dict(os.environ)) if address else None
    if started is None or started.pid == 0:
        os.execv(sys.executable, [sys.executable, "-m", "backprop_cli", *args])
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda signum, _frame: os.kill(started.pid, signum))
    code = started.wait()
    if code < 0:  # end as the command did: by its signal
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


if __name__ == "__main__":
    sys.exit(_as_command(sys.argv[1:]))
