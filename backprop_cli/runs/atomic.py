"""The one atomic writer: a final name holds the old complete file or the new one, never a partial.

Write to `<dir>/.<name>.tmp-<pid>-<rand>` in the same directory, fsync the file, `os.replace` it
over the final name, fsync the directory (Pillai et al., OSDI 2014). A crash leaves at most a
temp, whose name never matches a reader's glob (`*.safetensors`, `*.json`) and which
`remove_stale_temps` deletes at the next start.

Test hooks (read once, cheap when unset): `BACKPROP_TEST_KILL_AT=<stage>` SIGKILLs the process at
that stage, `BACKPROP_TEST_PAUSE_AT=<stage>` announces "backprop-test: paused at <stage> <path>"
on stderr and sleeps `BACKPROP_TEST_PAUSE_SECONDS` (default 30; 0: SIGSTOP until a SIGCONT) there;
`BACKPROP_TEST_KILL_MATCH` restricts both to paths containing that substring, and both act once:
at the first matching write, or with `BACKPROP_TEST_HOOK_SKIP=<n>` at the (n+1)-th (so that a test
can crash the second epoch's checkpoint, not the first).
Stages: see STAGES; `append_line_durable` passes through "half_written" and "before_fsync" too.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import secrets
import signal
import sys
import time
from pathlib import Path

from backprop_cli.errors import RunError

STAGES = ("temp_opened", "half_written", "before_fsync", "before_rename", "after_rename")
_TEMP_NAME = re.compile(r"^\..+\.tmp-(\d+)-[0-9a-f]+$")
_hook_hits: dict[str, int] = {}  # matching writes seen per stage: the hooks act at one of them


@functools.lru_cache(maxsize=1)
def _test_hooks() -> tuple[str | None, str | None, str, float, int]:
    env = os.environ
    return (
        env.get("BACKPROP_TEST_KILL_AT"),
        env.get("BACKPROP_TEST_PAUSE_AT"),
        env.get("BACKPROP_TEST_KILL_MATCH", ""),
        float(env.get("BACKPROP_TEST_PAUSE_SECONDS", "30")),
        int(env.get("BACKPROP_TEST_HOOK_SKIP", "0")),
    )


def _crash_point(stage: str, path: Path) -> None:
    kill_at, pause_at, match, pause_s, skip = _test_hooks()
    if kill_at is None and pause_at is None:
        return
    if match not in str(path) or stage not in (kill_at, pause_at):
        return
    _hook_hits[stage] = _hook_hits.get(stage, 0) + 1
    if _hook_hits[stage] != skip + 1:
        return
    if stage == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    if stage == pause_at:
        sys.stderr.write(f"backprop-test: paused at {stage} {path}\n")
        sys.stderr.flush()
        if pause_s > 0:
            time.sleep(pause_s)  # a signal handler that only sets a flag lets the sleep go on (PEP 475)
        else:
            os.kill(os.getpid(), signal.SIGSTOP)  # stopped until the test has done its part and sends SIGCONT


def temp_path_for(path: Path) -> Path:
    """A fresh temp name next to `path`, hidden and never matching `*.<suffix>`."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as err:
        if err.errno not in (errno.EINVAL, errno.ENOTSUP):  # some filesystems cannot fsync a directory
            raise
    finally:
        os.close(fd)


def _cannot_write(path: Path, err: OSError) -> RunError:
    return RunError(f"cannot write {path}: {err.strerror or err}")


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes | bytearray | memoryview) -> None:
    """Replace `path` with `data` atomically and durably; an OSError becomes RunError (exit 1)."""
    path = Path(path)
    tmp = temp_path_for(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as err:
        raise _cannot_write(path, err) from err
    try:
        try:
            _crash_point("temp_opened", path)
            half = len(data) // 2
            _write_all(fd, memoryview(data)[:half])
            _crash_point("half_written", path)
            _write_all(fd, memoryview(data)[half:])
            _crash_point("before_fsync", path)
            os.fsync(fd)
        finally:
            os.close(fd)
        _crash_point("before_rename", path)
        os.replace(tmp, path)
    except BaseException as err:
        _remove_quietly(tmp)
        if isinstance(err, OSError):
            raise _cannot_write(path, err) from err
        raise
    _crash_point("after_rename", path)
    try:
        _fsync_dir(path.parent)
    except OSError as err:
        raise _cannot_write(path, err) from err


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """`atomic_write_bytes` of `text` encoded as UTF-8."""
    atomic_write_bytes(path, text.encode("utf-8"))


def append_line_durable(path: str | os.PathLike[str], line: str) -> None:
    """Append `line` + newline and fsync; on failure the file is cut back to its previous length."""
    if "\n" in line:
        raise ValueError("a line to append must not contain a newline")
    path = Path(path)
    created = not path.exists()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as err:
        raise _cannot_write(path, err) from err
    try:
        size_before = os.fstat(fd).st_size
        data = (line + "\n").encode("utf-8")
        try:
            _write_all(fd, data[: len(data) // 2])
            _crash_point("half_written", path)
            _write_all(fd, data[len(data) // 2 :])
            _crash_point("before_fsync", path)
            os.fsync(fd)
        except OSError as err:
            _truncate_quietly(fd, size_before)
            raise _cannot_write(path, err) from err
    finally:
        os.close(fd)
    if created:
        try:
            _fsync_dir(path.parent)
        except OSError as err:
            raise _cannot_write(path, err) from err


def remove_stale_temps(directory: str | os.PathLike[str]) -> list[Path]:
    """Delete temps left by dead writers in `directory`; returns what was removed."""
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        if match is None or not entry.is_file(follow_symlinks=False):
            continue
        if _pid_alive(int(match.group(1))):
            continue  # another live process is writing it right now
        if _remove_quietly(Path(entry.path)):
            removed.append(Path(entry.path))
    return removed


def _pid_alive(pid: int) -> bool:
    if pid <= 0 or pid == os.getpid():
        return False  # our own temps are from an earlier, failed write
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        return True  # alive, owned by another user
    return True


def _remove_quietly(path: Path) -> bool:
    try:
        os.unlink(path)
    except OSError:
        return False
    return True


def _truncate_quietly(fd: int, size: int) -> None:
    try:
        os.ftruncate(fd, size)
    except OSError:
        pass
