"""Reading what the user points at: configs, data files, run files and stdin, through one gate.

Only regular files are read (symlinks are followed): a FIFO would block until a writer comes, a
character device such as /dev/zero would be read until memory runs out. A file is opened with
O_NONBLOCK (so that opening a FIFO returns at once) and checked with fstat on that descriptor (no
race between the check and the read). Every read is bounded: more than the limit is refused, not
truncated. stdin may be a pipe, but it is bounded too.

Errors: a missing file or a directory raises the OSError (FileNotFoundError, IsADirectoryError),
worded by the caller; anything else is the caller's error type, naming `source`.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from typing import BinaryIO

from backprop_cli.errors import DataError, UserError

INPUT_LIMIT_ENV = "BACKPROP_MAX_INPUT_BYTES"
DEFAULT_INPUT_LIMIT = 2**30  # a data file or stdin: 1 GiB unless BACKPROP_MAX_INPUT_BYTES says otherwise
_CHUNK = 1 << 20
_KINDS = {
    stat.S_IFIFO: "FIFO (named pipe)",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
    stat.S_IFSOCK: "socket",
}


def input_limit() -> int:
    """The most bytes read from one data file or from stdin."""
    raw = os.environ.get(INPUT_LIMIT_ENV, "")
    return int(raw) if raw.isdecimal() and int(raw) > 0 else DEFAULT_INPUT_LIMIT


def open_regular(path: str | os.PathLike[str], source: str, error: type[UserError] = DataError) -> BinaryIO:
    """`path` opened for binary reading, if it is a regular file; see the module docstring for errors."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(mode):
            kind = _KINDS.get(stat.S_IFMT(mode), "special file")
            raise error(
                f"is a {kind}, not a regular file",
                where=source,
                fix="give the path of a regular file (a FIFO or a device is never read; pipe data to stdin with -)",
            )
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def read_regular(
    path: str | os.PathLike[str], source: str, limit: int | None = None, error: type[UserError] = DataError
) -> bytes:
    """All the bytes of a regular file, refused when more than `limit` (default: `input_limit()`)."""
    with open_regular(path, source, error) as fp:
        return read_bounded(fp, source, limit, error)


def read_bounded(fp: BinaryIO, source: str, limit: int | None = None, error: type[UserError] = DataError) -> bytes:
    """Everything `fp` holds, read in chunks; one byte past `limit` is an error, before memory runs out."""
    limit = input_limit() if limit is None else limit
    chunks, total = [], 0
    # read1: one underlying read a call, so a terminal's single Ctrl-D (an empty read) ends the input;
    # a buffered read() would swallow it and wait for a second one
    read = getattr(fp, "read1", fp.read)
    while chunk := read(min(_CHUNK, limit + 1 - total)):
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise error(
                f"holds more than {limit:,} bytes",
                where=source,
                fix=f"give a smaller input (or raise the limit with {INPUT_LIMIT_ENV}=BYTES)",
            )
    return b"".join(chunks)


def read_stdin(limit: int | None = None, error: type[UserError] = DataError) -> bytes:
    """stdin's bytes (a pipe or a file), bounded; a closed stdin is an error, not an AttributeError."""
    stream = sys.stdin.buffer if sys.stdin is not None else None
    if stream is None:
        raise error("stdin is closed", where="<stdin>", fix="give an input file, or pipe rows in")
    try:
        return read_bounded(stream, "<stdin>", limit, error)
    except OSError as err:
        raise error(f"cannot read stdin: {err.strerror or err}", where="<stdin>") from None
