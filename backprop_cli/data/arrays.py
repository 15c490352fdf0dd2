""".npy and .npz files read safely: never unpickled, sizes checked against the file before allocating.

`np.load` trusts the header's shape, so a 400 KB file can ask for 400 MB; here the header is read
first (np.lib.format.read_magic / read_array_header_*) and the bytes it declares must be exactly the
bytes the file (or the zip member) holds.
"""

from __future__ import annotations

import io
import math
import os
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import numpy as np
from numpy.lib import format as npformat

from backprop_cli.errors import DataError
from backprop_cli.userfiles import open_regular

NPY_MAGIC = b"\x93NUMPY"
MAX_DEFLATE_RATIO = 1032  # deflate cannot expand one byte into more than ~1032
# A zip bomb tells the truth about its size: 400 MB of zeros deflate to 400 KB. Real numeric data
# compresses far less than 100x, so a big member that expands more is refused; saved uncompressed
# (np.savez) any size is read, as an .npy would be.
MAX_BOMB_RATIO = 100
BOMB_MIN_BYTES = 64 * 2**20
_PICKLE_FIX = "pickled data is never loaded; save numbers or strings (np.save with a numeric or str dtype)"


def read_npy(fp: BinaryIO, size: int, source: str) -> np.ndarray:
    """The array in fp (at its start, `size` bytes long), after checking magic, dtype and size."""
    shape, fortran_order, dtype = read_npy_header(fp, size, source)
    n_bytes = math.prod(shape) * dtype.itemsize
    try:
        data = fp.read(n_bytes)
    except (OSError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(f"cannot read the array data ({err})", where=source) from None
    except MemoryError:
        raise DataError(f"not enough memory to read its {n_bytes:,} bytes of array data", where=source) from None
    if len(data) != n_bytes:
        raise DataError(f"truncated: {len(data)} of {n_bytes} data bytes", where=source)
    order = "F" if fortran_order else "C"
    return np.frombuffer(data, dtype=dtype).reshape(shape, order=order)


def read_npy_header(fp: BinaryIO, size: int, source: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran_order, dtype) from an .npy header, checked against the `size` bytes the file holds."""
    try:
        version = npformat.read_magic(fp)
        header = npformat.read_array_header_1_0 if version == (1, 0) else npformat.read_array_header_2_0
        shape, fortran_order, dtype = header(fp)
    except (ValueError, EOFError, OSError, SyntaxError) as err:
        raise DataError(f"not a valid .npy array ({err})", where=source, fix=_PICKLE_FIX) from None
    if dtype.hasobject:
        raise DataError("holds Python objects (dtype object) that would need unpickling", where=source, fix=_PICKLE_FIX)
    declared = fp.tell() + math.prod(shape) * dtype.itemsize
    if declared != size:
        raise DataError(
            f"header declares shape {shape} of {dtype} ({declared} bytes with the header) "
            f"but the file holds {size} bytes",
            where=source,
            fix="the file is truncated or corrupted; save it again with np.save",
        )
    return shape, fortran_order, dtype


def load_npy(path: Path, source: str) -> np.ndarray:
    with _open(path, source) as fp:
        return read_npy(fp, os.fstat(fp.fileno()).st_size, source)


def load_npy_bytes(data: bytes, source: str) -> np.ndarray:
    return read_npy(io.BytesIO(data), len(data), source)


def load_npz(path: Path, source: str, only: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """Every array of an .npz (or those named in `only`), each member checked as read_npy checks a file."""
    wanted = None if only is None else set(only)
    with _open(path, source) as fp:
        with _zip(fp, source) as archive:
            infos = [(info, _key(info, source)) for info in archive.infolist()]
            return {k: _read_member(archive, i, source) for i, k in infos if wanted is None or k in wanted}


def peek_npy(path: Path, source: str) -> tuple[tuple[int, ...], np.dtype]:
    """An .npy file's (shape, dtype) from its header, without reading the array."""
    with _open(path, source) as fp:
        shape, _, dtype = read_npy_header(fp, path.stat().st_size, source)
    return shape, dtype


def peek_npz(path: Path, source: str) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Each member's (shape, dtype) from its header, with the checks load_npz makes, without reading arrays."""
    with _open(path, source) as fp:
        with _zip(fp, source) as archive:
            found = {}
            for info in archive.infolist():
                key, where = _key(info, source), f"{source}[{info.filename}]"
                _check_member(info, where)
                try:
                    with archive.open(info) as member:
                        shape, _, dtype = read_npy_header(member, info.file_size, where)
                except (zipfile.BadZipFile, OSError, EOFError) as err:
                    raise DataError(f"corrupted zip entry ({err})", where=where) from None
                found[key] = (shape, dtype)
            return found


def _zip(fp: BinaryIO, source: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(fp)
    except (zipfile.BadZipFile, OSError) as err:
        raise DataError(f"not a valid .npz (zip) file ({err})", where=source) from None


def _key(info: zipfile.ZipInfo, source: str) -> str:
    if not info.filename.endswith(".npy"):
        raise DataError(f"member `{info.filename}` is not an .npy array", where=source, fix=_PICKLE_FIX)
    return info.filename[: -len(".npy")]


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: str) -> np.ndarray:
    where = f"{source}[{info.filename}]"
    _check_member(info, where)
    try:
        with archive.open(info) as fp:
            return read_npy(fp, info.file_size, where)
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise DataError(f"corrupted zip entry ({err})", where=where) from None


def _check_member(info: zipfile.ZipInfo, where: str) -> None:
    """Sizes and compression a member declares, refused before anything is decompressed."""
    stored = info.compress_type == zipfile.ZIP_STORED
    if stored and info.file_size != info.compress_size:
        raise DataError(
            f"zip entry declares {info.file_size} bytes but stores {info.compress_size}",
            where=where,
            fix="the file is corrupted; save it again with np.savez",
        )
    if info.compress_type == zipfile.ZIP_DEFLATED and info.file_size > MAX_DEFLATE_RATIO * info.compress_size + 64:
        raise DataError(
            f"zip entry declares {info.file_size} bytes from {info.compress_size} compressed bytes, "
            "more than compression allows",
            where=where,
            fix="the file is corrupted or hostile; save it again with np.savez",
        )
    if not stored and info.file_size > max(BOMB_MIN_BYTES, MAX_BOMB_RATIO * info.compress_size):
        raise DataError(
            f"zip entry expands {info.compress_size} compressed bytes to {info.file_size}, over "
            f"{MAX_BOMB_RATIO} times: a zip bomb, or data that is almost all one value",
            where=where,
            fix="save it uncompressed (np.savez, not np.savez_compressed)",
        )
    if not stored and info.compress_type != zipfile.ZIP_DEFLATED:
        raise DataError("uses a zip compression other than deflate", where=where, fix="save it with np.savez")


def _open(path: Path, source: str) -> BinaryIO:
    try:
        return open_regular(path, source)  # a FIFO or a device is refused, never read
    except FileNotFoundError:
        raise DataError(
            "file not found", where=source, fix="check the path (relative to the current directory)"
        ) from None
    except IsADirectoryError:
        raise DataError("is a directory, not a file", where=source) from None
    except OSError as err:
        raise DataError(f"cannot read the file: {err.strerror}", where=source) from None
