"""The Dask cluster's address, from `--scheduler` or a scheduler file, parsed and connected to by us.

distributed asserts on a scheduler file without an address (a traceback), treats an empty address as
"start a local cluster", and waits for minutes on a port that accepts and never answers, whatever
its `timeout`. So the address is checked here (tcp://HOST:PORT), the file read through the bounded
reader, and the whole connection bounded by our own deadline.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from urllib.parse import urlsplit

from backprop_cli.errors import UserError

SCHEMES = ("tcp", "tls")
SCHEDULER_FILE_LIMIT = 1 << 20  # `dask scheduler --scheduler-file` writes a few hundred bytes
ADDRESS_FIX = "give the address the scheduler printed, e.g. tcp://10.0.0.5:8786"


def parse_address(text: str, where: str = "--scheduler") -> str:
    """`tcp://HOST:PORT` (or `HOST:PORT`, taken as tcp) as distributed takes it; UserError naming `where`."""
    text = text.strip()
    if not text:
        raise UserError("is empty (an unset shell variable?)", where=where, fix=ADDRESS_FIX)
    parts = urlsplit(text if "://" in text else f"tcp://{text}")
    try:
        port = parts.port
    except ValueError:
        port = None
    bad = parts.scheme not in SCHEMES or not parts.hostname or port is None or port == 0
    if bad or parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise UserError(
            f"{text!r} is not a scheduler address ({'|'.join(SCHEMES)}://HOST:PORT)", where=where, fix=ADDRESS_FIX
        )
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}:{port}"


def read_scheduler_file(path: Path) -> str:
    """The address in a scheduler file (JSON with an `address`), read bounded; UserError naming the file."""
    from backprop_cli.userfiles import read_regular

    fix = "give the file `dask scheduler --scheduler-file PATH` wrote"
    try:
        data = json.loads(read_regular(path, str(path), SCHEDULER_FILE_LIMIT, UserError))
    except FileNotFoundError:
        raise UserError(
            "no such scheduler file",
            where=str(path),
            fix="start the scheduler with `dask scheduler --scheduler-file PATH` and pass that path",
        ) from None
    except IsADirectoryError:
        raise UserError("is a directory, not a scheduler file", where=str(path), fix=fix) from None
    except (ValueError, RecursionError):
        raise UserError("is not a scheduler file (not JSON)", where=str(path), fix=fix) from None
    except OSError as err:
        raise UserError(f"cannot read the scheduler file: {err.strerror or err}", where=str(path), fix=fix) from None
    address = data.get("address") if isinstance(data, dict) else None
    if not isinstance(address, str):
        raise UserError("is not a scheduler file (it has no `address`)", where=str(path), fix=fix)
    return parse_address(address, where=f"{path}: address")


def connect(address: str, deadline_s: float, where: str):
    """A distributed Client connected to `address` within `deadline_s` seconds, or UserError.

    The attempt runs in a daemon thread: past the deadline it is abandoned (and dies with the process)."""
    from distributed import Client

    box: dict = {}

    def attempt() -> None:
        try:
            box["client"] = Client(address, timeout=deadline_s)
        except BaseException as err:  # noqa: BLE001 - handed to the waiting thread
            box["error"] = err

    thread = threading.Thread(target=attempt, name="dask-connect", daemon=True)
    thread.start()
    thread.join(deadline_s)
    fix = "start one with `dask scheduler` and workers with `dask worker ADDRESS`, then pass its address"
    if "client" in box:
        return box["client"]
    if thread.is_alive():
        raise UserError(f"no answer from the Dask scheduler at {address} within {deadline_s:g} s", where=where, fix=fix)
    err = box["error"]
    raise UserError(f"cannot reach the Dask scheduler at {address}: {type(err).__name__}: {err}", where=where, fix=fix)
