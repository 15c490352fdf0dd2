"""Fetch a dataset's files from its mirrors: stream to a temp name, verify the checksum, rename into place.

Each file is written to `<dir>/.<name>.tmp-<pid>-<random>` (never matched by a reader), flushed and
fsynced, checked, then `os.replace`d to its final name and the directory fsynced: a final name only
ever holds a whole, verified file. BACKPROP_DATA_MIRROR=<base URL> replaces the public mirrors;
files are then fetched from `<base>/<dataset>/<file>`.
"""

from __future__ import annotations

import http.client
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from backprop_cli import __version__
from backprop_cli.data.builtin import BuiltinDataset, lookup
from backprop_cli.data.mnist import find_file, missing_files, missing_message
from backprop_cli.data.paths import data_dir_setting, resolve_data_dir
from backprop_cli.data.remote import RemoteFile, verify
from backprop_cli.errors import DataError, RunError

MIRROR_ENV = "BACKPROP_DATA_MIRROR"
TIMEOUT_S = 30.0
MAX_BYTES = 256 << 20  # no file of ours is near this; a server that sends more is refused
_CHUNK = 1 << 18

Progress = Callable[[str, int, "int | None"], None]  # (file name, bytes done, bytes expected or None)


class _Failed(Exception):
    """One attempt at one URL failed; `offline` when no server answered at all."""

    def __init__(self, reason: str, offline: bool = False):
        super().__init__(reason)
        self.offline = offline


def ensure_downloaded(name: str, data_dir: Path | None = None, progress: Progress | None = None) -> list[Path]:
    """Fetch whichever of NAME's files are missing (the trainer calls this); the paths fetched."""
    return fetch_missing(*_downloadable(name, data_dir), progress)


def fetch_missing(entry: BuiltinDataset, directory: Path, progress: Progress | None = None) -> list[Path]:
    """Fetch whichever of the entry's files are missing from `directory`, each checked against its checksum."""
    missing = [f for f in entry.files if find_file(directory, f.name) is None]
    if missing:
        _prepare(directory)
    return [_fetch_file(entry, directory, f, progress) for f in missing]


def download_dataset(name: str, data_dir: Path | None = None, progress: Progress | None = None) -> list[Path]:
    """`backprop data download NAME`: also replaces present files that fail their checksum."""
    return fetch_all(*_downloadable(name, data_dir), progress)


def fetch_all(entry: BuiltinDataset, directory: Path, progress: Progress | None = None) -> list[Path]:
    """Make every file of the entry present in `directory` and verified; the paths fetched."""
    _prepare(directory)
    fetched = []
    for remote in entry.files:
        present = find_file(directory, remote.name)
        if present is None or present.name != remote.name or verify(present, remote) is not None:
            fetched.append(_fetch_file(entry, directory, remote, progress))
    return fetched


def file_urls(entry: BuiltinDataset, filename: str) -> list[str]:
    mirror = os.environ.get(MIRROR_ENV)
    if mirror:
        return [f"{mirror.rstrip('/')}/{entry.name}/{filename}"]
    return [f"{base.rstrip('/')}/{filename}" for base in entry.mirrors]


def _downloadable(name: str, data_dir: Path | None) -> tuple[BuiltinDataset, Path]:
    entry = lookup(name)
    if entry.kind != "download":
        how = "is bundled with backprop" if entry.kind == "bundled" else "is generated from the seed"
        raise DataError(f"{name} {how}: there is nothing to download")
    return entry, (Path(data_dir).expanduser() if data_dir else resolve_data_dir()) / name


def _prepare(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):  # the data dir (or a part of it) is a file: the user's setting
        raise DataError(
            f"cannot create {directory}: a part of that path is a file, not a directory",
            fix=f"point {data_dir_setting(directory)} at a directory",
        ) from None
    except OSError as err:
        raise RunError(
            f"cannot create {directory}: {err.strerror}", fix=f"choose another {data_dir_setting(directory)}"
        ) from None
    _remove_stale_temps(directory)


def _fetch_file(entry: BuiltinDataset, directory: Path, remote: RemoteFile, progress: Progress | None) -> Path:
    """Try each mirror in turn; the first verified copy wins."""
    failures = []
    for url in file_urls(entry, remote.name):
        try:
            return _fetch(url, directory / remote.name, remote, progress)
        except _Failed as err:
            failures.append((url, err))
    reasons = "; ".join(f"{url}: {err}" for url, err in failures)
    what, _ = missing_message(entry.name, directory, missing_files(directory, entry.files))
    offline = all(err.offline for _, err in failures)
    fix = _offline_fix(entry, directory, "no server answered (offline?): " if offline else "try again later, or ")
    if offline:
        raise RunError(f"cannot download {entry.name} ({reasons}); {what}", fix=fix)
    raise RunError(f"could not download {entry.name}/{remote.name}: {reasons}", fix=fix)


def _offline_fix(entry: BuiltinDataset, directory: Path, lead: str) -> str:
    """Running the same command again will not help offline: say where the files go, or how to point elsewhere."""
    current = os.environ.get("BACKPROP_DATA_DIR")
    env = f"BACKPROP_DATA_DIR (now {current})" if current else "BACKPROP_DATA_DIR"
    return (
        f"{lead}copy the files from a machine that has them (they come from "
        f"{', '.join(file_urls(entry, '')) or 'a mirror'}) into {directory}, "
        f"or set {env} to a directory holding {entry.name}/ with them"
    )


def _fetch(url: str, final: Path, remote: RemoteFile, progress: Progress | None) -> Path:
    fd, tmp_name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.tmp-{os.getpid()}-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            _stream(url, out, remote.name, progress)
            out.flush()
            os.fsync(out.fileno())
        problem = verify(tmp, remote)
        if problem is not None:
            raise _Failed(f"checksum mismatch: {problem}; the file was not kept")
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(final.parent)
    return final


def _stream(url: str, out, name: str, progress: Progress | None) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": f"backprop/{__version__}"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            length = response.headers.get("Content-Length")
            expected = int(length) if length and length.isdecimal() else None
            if expected is not None and expected > MAX_BYTES:
                raise _Failed(f"the server offers {expected} bytes, more than any file of this dataset")
            done = _copy(response, out, name, expected, progress)
    except urllib.error.HTTPError as err:
        raise _Failed(f"HTTP {err.code} {err.reason}") from None
    except urllib.error.URLError as err:
        raise _Failed(f"no connection ({err.reason})", offline=True) from None
    except (OSError, http.client.HTTPException) as err:
        raise _Failed(f"the transfer failed ({err.__class__.__name__}: {err})") from None
    if expected is not None and done != expected:
        raise _Failed(f"the transfer was interrupted after {done} of {expected} bytes")


def _copy(response, out, name: str, expected: int | None, progress: Progress | None) -> int:
    done = 0
    if progress:
        progress(name, 0, expected)
    while chunk := response.read(_CHUNK):
        done += len(chunk)
        if done > MAX_BYTES:
            raise _Failed(f"the server sent more than {MAX_BYTES} bytes")
        out.write(chunk)
        if progress:
            progress(name, done, expected)
    return done


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_stale_temps(directory: Path) -> None:
    """Temp files left by a download that was killed (its process is gone)."""
    for tmp in directory.glob(".*.tmp-*-*"):
        pid = tmp.name.rsplit(".tmp-", 1)[1].split("-", 1)[0]
        if pid.isdecimal() and not _alive(int(pid)):
            tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
