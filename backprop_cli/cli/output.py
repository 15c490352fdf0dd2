"""stdout in a pipeline: a reader that goes away ends the command quietly, a full device is an error.

Typer turns a BrokenPipeError escaping a command into exit 1, and lets any other OSError out as a
traceback. Each command therefore runs with stdout guarded: a closed pipe becomes `StdoutClosed`
(the CLI exits 141, like coreutils, with nothing on stderr) and a failed write or flush becomes
`OutputError` (exit 1, one message). Both leave stdout pointing at /dev/null, so the interpreter's
last flush at exit cannot print "Exception ignored" noise.
"""

from __future__ import annotations

import errno
import functools
import io
import os
import sys
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from backprop_cli.errors import RunError

EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as the shell reports `yes | head -1`


class StdoutClosed(Exception):
    """The reader of stdout went away (`backprop predict … | head -1`)."""


class OutputError(RunError):
    """stdout could not be written (a full device, an I/O error): exit 1."""


def plain(value: Any) -> str:
    """User or file text (a run name, a status, a stop reason, a label) made safe to embed in rich markup:
    `ok[/]` is shown as written, never read as a closing tag. Every such piece goes through here."""
    from rich.markup import escape

    text = str(value)
    body = text.rstrip("\\")
    # rich doubles one trailing backslash but not a run of them, and an odd run ending the piece escapes
    # the tag after it (three backslashes then `[/]` showed the tag): the trailing run is doubled, any length
    return escape(body) + "\\" * (2 * (len(text) - len(body)))


def fill_closed_std_streams() -> None:
    """`backprop … >&-` or `2>&-` starts with fd 1 or 2 closed and sys.stdout/stderr None: every print fails,
    and the next file opened takes that descriptor, so a write meant for stderr would land in it. Each closed
    one of fds 0-2 is pointed at /dev/null: the command runs as usual, what it would print is dropped, the run
    is saved and the exit code is the usual one. sys.stdin stays None, so that reading it says "closed"."""
    for fd, name in ((0, None), (1, "stdout"), (2, "stderr")):
        try:
            os.fstat(fd)
            continue
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)  # the lowest free descriptor: `fd` itself when 0-2 are in order
        if null != fd:
            os.dup2(null, fd)
            os.close(null)
        if name is not None and getattr(sys, name) is None:
            setattr(sys, name, open(fd, "w", closefd=False, encoding="utf-8", errors="replace"))


def silence_stdout() -> None:
    """Point stdout at /dev/null, so that nothing left in its buffer can fail again at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


@contextmanager
def _as_output_errors():
    try:
        yield
    except BrokenPipeError:
        raise StdoutClosed from None
    except OSError as err:
        raise OutputError(
            f"cannot write to stdout: {err.strerror or err}", fix="write the output somewhere with free space"
        ) from None


@contextmanager
def writing_stdout():
    """Writes to stdout (or its binary buffer) inside this block, and a flush at its end, fail as our errors."""
    with _as_output_errors():
        yield
        sys.stdout.flush()


def write_bytes(stream, data: bytes) -> None:
    """All of `data` to a binary stream. Under `python -u` or PYTHONUNBUFFERED, stdout's binary layer is
    a raw FileIO whose write may take only part (a pipe whose reader left mid-write), and TextIOWrapper
    drops the rest without a word; so loop until all is written, or the error shows."""
    view = memoryview(data)
    while view:
        written = stream.write(view)
        if not written:
            raise OSError(errno.EIO, "the output accepted no bytes")
        view = view[written:]


class _GuardedStdout:
    """sys.stdout whose write and flush raise StdoutClosed / OutputError instead of OSError, and that
    writes everything even when its binary layer is raw (see `write_bytes`)."""

    def __init__(self, stream):
        self._stream = stream
        self._raw = isinstance(getattr(stream, "buffer", None), io.RawIOBase)

    def write(self, text: str) -> int:
        with _as_output_errors():
            if not self._raw:
                return self._stream.write(text)
            self._stream.flush()
            write_bytes(self._stream.buffer, text.encode(self._stream.encoding, self._stream.errors or "strict"))
            return len(text)

    def flush(self) -> None:
        with _as_output_errors():
            self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def guard_stdout(command: Callable[..., Any]) -> Callable[..., Any]:
    """`command` run with a guarded stdout, flushed at its end; a closed pipe anywhere is a closed stdout."""

    @functools.wraps(command)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        plain = sys.stdout
        sys.stdout = _GuardedStdout(plain)
        try:
            result = command(*args, **kwargs)
            sys.stdout.flush()  # what is still buffered must reach the device now, not at exit
            return result
        except BrokenPipeError:  # the only pipes a command writes are stdout and stderr
            raise StdoutClosed from None
        finally:
            sys.stdout = plain

    return guarded


def short_number(value: float, digits: int = 4) -> str:
    """A metric for people: fixed point in [1e-3, 1e6) (`0.1234`), scientific beyond (`6.9e+26`), never 27 digits."""
    magnitude = abs(value)
    if magnitude == 0 or 1e-3 <= magnitude < 1e6 or magnitude != magnitude:
        return f"{value:.{digits}f}"
    return f"{value:.{digits - 2}e}" if magnitude != float("inf") else str(value)


def stdout_console():
    """rich on stdout: the terminal's width on one; off a terminal (a pipe, a file) wide, so rows never wrap."""
    from rich.console import Console

    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=4096)


NARROW = 100  # below this many columns, tables switch to fewer columns or one record per run
