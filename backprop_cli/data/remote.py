"""Files fetched from the internet, and the checksums that decide whether a copy is the real one."""

from __future__ import annotations

import gzip
import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Checksum:
    """A digest of the file as stored (`over="file"`) or of its gunzipped content (`over="content"`).

    A content digest accepts any gzip of the same bytes: mirrors recompress files, and only the
    IDX bytes inside are what a published checksum of the data means.
    """

    algorithm: str  # "sha256" | "md5"
    digest: str
    over: str  # "file" | "content"
    origin: str  # where the value comes from, for people auditing the table

    def describe(self) -> str:
        what = "of the gunzipped content" if self.over == "content" else "of the file"
        return f"{self.algorithm} {what}"


@dataclass(frozen=True)
class RemoteFile:
    name: str  # e.g. train-images-idx3-ubyte.gz
    checksum: Checksum


def digest_of(path: Path, checksum: Checksum) -> str:
    """The file's digest as `checksum` defines it; an unreadable gzip gives a description instead."""
    h = hashlib.new(checksum.algorithm)
    try:
        opener = gzip.open if checksum.over == "content" else open
        with opener(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
    except (OSError, EOFError, zlib.error) as err:
        return f"(not a readable gzip file: {err})"
    return h.hexdigest()


def verify(path: Path, remote: RemoteFile) -> str | None:
    """None when the file matches its checksum, else what is wrong."""
    found = digest_of(path, remote.checksum)
    if found == remote.checksum.digest:
        return None
    return f"{remote.checksum.describe()} is {found}, expected {remote.checksum.digest}"
