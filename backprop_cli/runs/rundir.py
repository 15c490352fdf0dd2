"""Run directories: created exclusively, owned through a kernel lock, named by `RunFiles`.

`os.mkdir` fails when the name exists, so two runs started in the same second (a sweep, a shell
loop) get distinct directories. `RunLock` is an `flock` on `RUN/.lock`, released by the kernel when
its holder dies, even by SIGKILL: there is never a stale lock to clean up.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType

from backprop_cli.config.names import RUN_NAME_PATTERN, RUN_NAME_RULE
from backprop_cli.errors import RunDirError

_ATTEMPTS = 100


@dataclass(frozen=True)
class RunFiles:
    """The paths inside one run directory."""

    root: Path

    def __init__(self, root: str | os.PathLike[str]):
        object.__setattr__(self, "root", Path(root))

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def last(self) -> Path:
        return self.checkpoints / "last.safetensors"

    @property
    def best(self) -> Path:
        return self.checkpoints / "best.safetensors"

    @property
    def histograms(self) -> Path:
        return self.root / "histograms.jsonl"

    @property
    def snapshots(self) -> Path:
        return self.root / "snapshots"

    def snapshot(self, epoch: int) -> Path:
        return self.snapshots / f"epoch-{epoch:05d}.safetensors"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"


# What a run writes and reads back: replacing one of these loses the run (an export over a checkpoint, CSV over
# the metric log). Derived files (metrics.csv, model.onnx, plots) are not among them.
OWN_FILES = ("config.yaml", "metrics.jsonl", "summary.json", ".lock")
EVENTS_PREFIX = "events.out.tfevents."  # TensorBoard's event files, beside them


def run_owning(path: str | os.PathLike[str]) -> Path | None:
    """The run directory of which `path` names one of its own files (config, metric log, summary, lock, event
    file, or a checkpoint in checkpoints/), else None. Symlinks and `..` are resolved first, so no spelling of
    the name slips past."""
    target = Path(path).resolve()
    parent = target.parent
    if (target.name in OWN_FILES or target.name.startswith(EVENTS_PREFIX)) and is_run_dir(parent):
        return parent
    if parent.name == "checkpoints" and target.suffix == ".safetensors" and is_run_dir(parent.parent):
        return parent.parent
    return None


def is_run_dir(path: str | os.PathLike[str]) -> bool:
    """A run directory has its config.yaml and metrics.jsonl or checkpoints/."""
    files = RunFiles(path)
    has_output = files.metrics.is_file() or files.checkpoints.is_dir()
    return files.root.is_dir() and files.config.is_file() and has_output


_STAMPED = r"-\d{8}-\d{6}-[0-9a-f]{4}"  # the suffix new_run_dir puts after a run's name
HANDLE_FOLDER = "runs"  # where a bare run name is looked up (the default runs_dir)


def newest_run_named(path: str | os.PathLike[str]) -> Path | None:
    """A run handle: `quickstart` or `DIR/quickstart`, a path that does not exist, names the newest run
    directory `quickstart-<YYYYmmdd-HHMMSS>-<hex>` in runs/ (or in DIR); None when there is none.

    Lets the examples say `backprop eval runs/quickstart` instead of a timestamp or a glob, which
    matches every earlier run as well."""
    path = Path(path)
    if path.exists() or not re.fullmatch(RUN_NAME_PATTERN, path.name):
        return None
    folder = path.parent if path.parent != Path(".") else Path(HANDLE_FOLDER)
    pattern = re.compile(re.escape(path.name) + _STAMPED)
    try:
        named = [p for p in folder.iterdir() if pattern.fullmatch(p.name) and is_run_dir(p)]
    except OSError:
        return None
    # the stamp sorts by time; two runs of one second are told apart by when their config was written
    return max(named, key=lambda p: (p.name[len(path.name) :][:16], _mtime(p / "config.yaml")), default=None)


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def _check_name(name: str) -> None:
    """The config's `name` rule, for --run-name too: no newline, no '/', not 300 characters."""
    if not re.fullmatch(RUN_NAME_PATTERN, name):
        raise RunDirError(f"invalid run name {name!r}", fix=f"use {RUN_NAME_RULE}")


def _cannot_create(path: Path, err: OSError) -> RunDirError:
    reason = err.strerror or str(err)
    if isinstance(err, FileExistsError) or err.errno == errno.EEXIST:
        reason = "Not a directory"  # only reached when the runs dir itself is a file
    return RunDirError(f"cannot create run directory {path}: {reason}", fix="choose another --runs-dir")


def create_run_dir(runs_dir: str | os.PathLike[str], name: str, now: datetime | None = None) -> Path:
    """Create `<runs_dir>/<name>-<YYYYmmdd-HHMMSS>-<4 hex>/checkpoints/`, never reusing a directory."""
    _check_name(name)
    runs_dir = Path(runs_dir)
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    try:
        os.makedirs(runs_dir, exist_ok=True)
    except OSError as err:
        raise _cannot_create(runs_dir / f"{name}-{stamp}-xxxx", err) from err
    for _ in range(_ATTEMPTS):
        run_dir = runs_dir / f"{name}-{stamp}-{secrets.token_hex(2)}"
        try:
            os.mkdir(run_dir)
        except FileExistsError:
            continue  # another run took this name in the same second
        except OSError as err:
            raise _cannot_create(run_dir, err) from err
        _make_checkpoints_dir(run_dir)
        return run_dir
    raise RunDirError(
        f"cannot create run directory in {runs_dir}: {_ATTEMPTS} names for {name}-{stamp} are taken",
        fix="choose another --run-name or --runs-dir",
    )


def _make_checkpoints_dir(run_dir: Path) -> None:
    try:
        os.mkdir(RunFiles(run_dir).checkpoints)
    except OSError as err:
        try:
            os.rmdir(run_dir)  # leave nothing half-made behind
        except OSError:
            pass
        raise _cannot_create(run_dir, err) from err


class RunLock:
    """Exclusive ownership of a run directory for as long as the `with` block lasts."""

    def __init__(self, run_dir: str | os.PathLike[str]):
        self.run_dir = Path(run_dir)
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        """Lock RUN/.lock; the holder removes it on release, so a finished run keeps no .lock file. A lock taken
        on a file that its previous holder has just unlinked is no lock: take it again on the new file."""
        path = RunFiles(self.run_dir).lock
        for _ in range(100):
            self._fd = self._lock(path)
            if _same_file(self._fd, path):
                _write_pid(self._fd)
                return self
            os.close(self._fd)
        raise RunDirError(f"cannot lock run {self.run_dir}: {path} keeps being replaced")

    def _lock(self, path: Path) -> int:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError as err:
            raise RunDirError(f"cannot lock run {self.run_dir}: {err.strerror or err}") from err
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise RunDirError(
                f"run {self.run_dir} is in use by PID {holder}",
                fix="wait for that process to finish, or stop it first",
            ) from None
        except OSError as err:
            os.close(fd)
            raise RunDirError(f"cannot lock run {self.run_dir}: {err.strerror or err}") from err
        return fd

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):  # unlinked while still held: no one can lock the old file after
                RunFiles(self.run_dir).lock.unlink()
            os.close(self._fd)  # closing the last descriptor releases the flock
            self._fd = None


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except OSError:
        return False


def _read_pid(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    return text if text.isdigit() else "(unknown)"


def _write_pid(fd: int) -> None:
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError:
        pass  # the PID is a courtesy for the error message; the flock is what matters
