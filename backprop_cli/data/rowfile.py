"""Arrays bigger than memory: the rows of an .npy (or of an .npz member stored uncompressed) read by index.

A big feature array is never read whole nor mapped whole (a file larger than the process's address space,
`ulimit -v`, could not be): `LazyRows` maps the windows of the file that hold the rows a batch asks for
(np.memmap, mode "r"), gathers those rows into the batch's buffer, scales them there, and unmaps the windows;
the operating system's page cache keeps what is read often. Statistics and the finiteness check are chunked
passes. The shuffle permutes indices as for arrays in memory, so the order stays seeded and a resume stays
bit-identical.
"""

from __future__ import annotations

import math
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backprop_cli.data.arrays import read_npy_header
from backprop_cli.errors import DataError

LAZY_ENV = "BACKPROP_READ_BY_INDEX_ABOVE"  # bytes: a feature array larger than this is read by index
DEFAULT_LAZY_ABOVE = 256 * 2**20
CHUNK_BYTES = 4 * 2**20  # the sequential passes read this much at a time
WINDOW_BYTES = 32 * 2**20  # the most of the file mapped at once


def lazy_threshold() -> int:
    raw = os.environ.get(LAZY_ENV, "")
    return int(raw) if raw.isdecimal() else DEFAULT_LAZY_ABOVE


@dataclass(frozen=True)
class RowFile:
    """Where an array's rows are: the file, the offset of its first data byte, its shape and dtype (C order)."""

    path: Path
    source: str
    offset: int
    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def row_bytes(self) -> int:
        return math.prod(self.shape[1:]) * self.dtype.itemsize

    def read(self, rows: np.ndarray) -> np.ndarray:
        """The rows at these indices, in this order: (len(rows), *shape[1:]) in the file's dtype.

        The file is mapped a window of WINDOW_BYTES at a time (np.memmap, mode "r"), only the windows that hold
        a wanted row, each unmapped before the next: the address space used stays a window's."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), *self.shape[1:]), dtype=self.dtype)
        per_window = max(1, WINDOW_BYTES // max(1, self.row_bytes))
        order = np.argsort(rows, kind="stable")
        window_of = rows[order] // per_window  # sorted: each window's rows are one slice of `order`
        bounds = np.flatnonzero(np.diff(window_of)) + 1
        for hits in np.split(order, bounds):
            if not len(hits):
                continue
            first = int(rows[hits[0]] // per_window) * per_window
            count = min(per_window, self.shape[0] - first)
            mapped = np.memmap(self.path, dtype=self.dtype, mode="r", offset=self.offset + first * self.row_bytes,
                               shape=(count, *self.shape[1:]))  # fmt: skip
            out[hits] = mapped[rows[hits] - first]
            mapped._mmap.close()  # unmapped now, not when the garbage collector gets to it
            del mapped
        return out


class LazyRows:
    """Rows `index` of a RowFile, shaped `example_shape` each; with a scaler, items come out scaled in `dtype`.

    Indexing reads (x[i:j], x[idx] give arrays); `subset(idx)` gives another LazyRows without reading.
    """

    def __init__(self, file: RowFile, example_shape: tuple[int, ...], index=None, scaler=None, dtype=None):
        self.file, self.example_shape = file, tuple(example_shape)
        self.index = np.arange(file.shape[0]) if index is None else np.asarray(index, dtype=np.int64)
        self.scaler, self.dtype = scaler, np.dtype(dtype if dtype is not None else file.dtype)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.index), *self.example_shape)

    @property
    def ndim(self) -> int:
        return 1 + len(self.example_shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def __len__(self) -> int:
        return len(self.index)

    def subset(self, idx) -> LazyRows:
        return LazyRows(self.file, self.example_shape, self.index[idx], self.scaler, self.dtype)

    def scaled(self, scaler, dtype) -> LazyRows:
        return LazyRows(self.file, self.example_shape, self.index, scaler, dtype)

    def __getitem__(self, key) -> np.ndarray:
        rows = self.index[key]
        raw = self.file.read(np.atleast_1d(rows)).reshape(-1, *self.example_shape)
        out = raw if self.scaler is None else self.scaler.transform(raw, self.dtype)
        return out[0] if np.ndim(rows) == 0 else out

    def take_into(self, idx: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Rows idx (of this view) scaled into `out`, a batch buffer: what BatchLoader's np.take does for arrays."""
        out[...] = self[idx]
        return out

    def chunks(self):
        """(start, rows) of the file's units, in order, CHUNK_BYTES at a time: for statistics and checks."""
        step = max(1, CHUNK_BYTES // max(1, self.file.row_bytes))
        for start in range(0, len(self), step):
            yield start, self.file.read(self.index[start : start + step]).reshape(-1, *self.example_shape)


def npy_rows(path: Path, source: str) -> RowFile:
    """The RowFile of an .npy, its header checked as the whole-file reader checks it."""
    with open(path, "rb") as fp:
        shape, fortran, dtype = read_npy_header(fp, os.fstat(fp.fileno()).st_size, source)
        offset = fp.tell()
    return _checked(RowFile(Path(path), source, offset, shape, dtype), fortran)


def npz_member_rows(path: Path, source: str, name: str) -> RowFile | None:
    """The RowFile of an .npz member stored uncompressed (np.savez), or None when it is compressed."""
    with open(path, "rb") as fp, zipfile.ZipFile(fp) as archive:
        info = archive.getinfo(f"{name}.npy")
        if info.compress_type != zipfile.ZIP_STORED:
            return None
        with archive.open(info) as member:
            shape, fortran, dtype = read_npy_header(member, info.file_size, f"{source}[{info.filename}]")
            header = member.tell()
        fp.seek(info.header_offset + 26)  # the local header: name and extra lengths, then the data
        name_len, extra_len = np.frombuffer(fp.read(4), dtype="<u2")
        offset = info.header_offset + 30 + int(name_len) + int(extra_len) + header
    return _checked(RowFile(Path(path), f"{source}[{name}]", offset, shape, dtype), fortran)


def _checked(file: RowFile, fortran: bool) -> RowFile:
    if fortran and len(file.shape) > 1:
        raise DataError(
            "stores its rows in Fortran order, which cannot be read row by row",
            where=file.source,
            fix="save it with np.save(path, np.ascontiguousarray(x))",
        )
    return file
