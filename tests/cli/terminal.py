"""`backprop ...` on a real pseudo-terminal of a given size, as a user at a 70- or 120-column terminal sees it."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import termios
from pathlib import Path

from tests import warm_process

ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def on_terminal(
    *args, columns: int, cwd: Path | None = None, timeout: float = 120, screen: bool = False
) -> tuple[int, str]:
    """Run with stdout and stderr on a pty `columns` wide; (exit code, everything shown, escapes removed).

    screen=True: what the terminal shows at the end instead, as a terminal emulator (pyte) draws it, so
    that a live display's redraws are applied rather than concatenated."""
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    nothing = os.open(os.devnull, os.O_RDONLY)
    try:  # a real process on the terminal, started warm (tests/warm_process.py)
        started = warm_process.start(args, (nothing, secondary, secondary), cwd=cwd, env={**env, "TERM": "xterm"})
    finally:
        os.close(nothing)
        os.close(secondary)
    chunks, code = [], None
    try:
        while True:
            ready, _, _ = select.select([primary], [], [], timeout)
            if not ready:
                raise TimeoutError(f"backprop {' '.join(map(str, args))} printed nothing for {timeout} s")
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = started.wait(timeout)
    finally:
        if code is None:  # it printed nothing for `timeout` s, or this process was interrupted
            os.kill(started.pid, signal.SIGKILL)
        os.close(primary)
    if screen:
        return code, _screen(b"".join(chunks), columns)
    text = ESCAPES.sub("", b"".join(chunks).decode("utf-8", "replace")).replace("\r\n", "\n")
    return code, text


def _screen(data: bytes, columns: int) -> str:
    import pyte

    rows = data.count(b"\n") + 50  # tall enough that nothing scrolls away
    screen = pyte.Screen(columns, rows)
    pyte.ByteStream(screen).feed(data)
    return "\n".join(line.rstrip() for line in screen.display).strip("\n")
