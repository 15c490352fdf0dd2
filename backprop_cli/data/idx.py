"""The IDX format of MNIST and Fashion-MNIST, gzipped or not, read with every size checked first.

Layout: magic 0x00 0x00 <type> <ndim>, then ndim big-endian uint32 dimensions, then the data.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from backprop_cli.errors import DataError
from backprop_cli.userfiles import open_regular

IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MAX_DEFLATE_RATIO = 1032  # deflate cannot expand one byte into more than ~1032
MAX_BOMB_RATIO, BOMB_MIN_BYTES = 100, 64 * 2**20  # MNIST's images gunzip ~5x; a truthful bomb ~1000x
_FIX = "delete it and run `backprop data download` again, or copy a good file there"


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """The array in an IDX file of `ndim` dimensions; any inconsistency is a DataError naming the file."""
    with open_regular(path, str(path)) as raw:  # a FIFO or a device in the data dir is refused, not read
        size = os.fstat(raw.fileno()).st_size
        gzipped = raw.read(2) == b"\x1f\x8b"
        limit = _gzip_isize(raw, size) if gzipped else size
        raw.seek(0)
        stream = gzip.GzipFile(fileobj=raw) if gzipped else raw
        try:
            return _read(stream, path, ndim, limit, size, gzipped)
        except EOFError as err:
            raise DataError(f"truncated gzip file ({err})", where=str(path), fix=_FIX) from None
        except (gzip.BadGzipFile, zlib.error, OSError) as err:
            raise DataError(f"corrupted gzip file ({err})", where=str(path), fix=_FIX) from None


def _read(stream, path: Path, ndim: int, limit: int, size: int, gzipped: bool) -> np.ndarray:
    magic = stream.read(4)
    if len(magic) < 4 or magic[:2] != b"\0\0" or magic[2] not in IDX_TYPES:
        raise DataError(f"not an IDX file (magic bytes {magic.hex() or 'missing'})", where=str(path), fix=_FIX)
    if magic[3] != ndim:
        what = "images" if ndim == 3 else "labels"
        raise DataError(f"holds {magic[3]}-dimensional data, expected {ndim} ({what})", where=str(path), fix=_FIX)
    header = stream.read(4 * ndim)
    if len(header) < 4 * ndim:
        raise DataError("truncated IDX header", where=str(path), fix=_FIX)
    dims = struct.unpack(f">{ndim}I", header)
    dtype = np.dtype(IDX_TYPES[magic[2]])
    n_bytes = math.prod(dims) * dtype.itemsize
    total = 4 + 4 * ndim + n_bytes
    if gzipped and total > size * MAX_DEFLATE_RATIO:
        _refuse(path, dims, dtype, total, f"a {size}-byte gzip file cannot hold that many")
    if gzipped and total > max(BOMB_MIN_BYTES, size * MAX_BOMB_RATIO):
        _refuse(path, dims, dtype, total, f"a {size}-byte gzip file expanding {total // size} times is a gzip bomb")
    if gzipped and total % 2**32 != limit:
        # the trailer disagrees: decompress and discard (no allocation) to learn what is really there
        held = 4 + 4 * ndim + _count(stream, n_bytes + 1)
        _refuse(path, dims, dtype, total, f"the file holds {held}")
    if not gzipped and total != limit:
        _refuse(path, dims, dtype, total, f"the file holds {limit}")
    try:
        data = stream.read(n_bytes)
    except MemoryError:
        raise DataError(f"not enough memory to read its {n_bytes:,} bytes of data", where=str(path)) from None
    if len(data) < n_bytes:
        raise DataError(f"truncated: {len(data)} of {n_bytes} data bytes", where=str(path), fix=_FIX)
    if stream.read(1):  # also makes gzip check its CRC
        raise DataError("holds more data than its header declares", where=str(path), fix=_FIX)
    return np.frombuffer(data, dtype=dtype).reshape(dims)


def _refuse(path: Path, dims: tuple[int, ...], dtype: np.dtype, total: int, found: str) -> None:
    shape = " x ".join(map(str, dims))
    raise DataError(
        f"header declares {shape} items of {dtype.itemsize} byte(s) ({total} bytes with the header) but {found}",
        where=str(path),
        fix=_FIX,
    )


def _count(stream, limit: int) -> int:
    n = 0
    while n < limit and (chunk := stream.read(min(1 << 20, limit - n))):
        n += len(chunk)
    return n


def _gzip_isize(raw, size: int) -> int:
    """The uncompressed size (mod 2**32) from the gzip trailer, read before decompressing anything."""
    if size < 18:
        return -1
    raw.seek(size - 4)
    return struct.unpack("<I", raw.read(4))[0]
