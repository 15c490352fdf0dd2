"""Read a safetensors file defensively: every size is checked before anything large is allocated.

Layout: 8 bytes little-endian header length N | N bytes of JSON header | tensor data.
The header maps tensor name -> {dtype, shape, data_offsets: [begin, end]} (offsets relative to
the data region) plus an optional "__metadata__" of str -> str. This module knows nothing of
backprop's own metadata; it only guarantees a well-formed container whose bytes are all read.
"""

from __future__ import annotations

import json
import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from backprop_cli.errors import CheckpointError
from backprop_cli.userfiles import open_regular

MAX_HEADER_BYTES = 16 * 1024 * 1024  # real headers are kilobytes; a bigger claim is hostile or corrupt
DTYPES: dict[str, np.dtype] = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U64": np.dtype("<u8"),
    "U32": np.dtype("<u4"),
    "U16": np.dtype("<u2"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
NOT_SAFETENSORS = "not a backprop checkpoint (invalid safetensors header); pickled files are never loaded"
FIX_DAMAGED = "the file is damaged: use another checkpoint of the run, or train again"
FIX_FOREIGN = "pass a .safetensors file written by `backprop train`, or its run directory"


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int


@dataclass(frozen=True)
class SafetensorsFile:
    """A validated container: its entries, its `__metadata__` and all of its bytes."""

    entries: dict[str, TensorEntry]
    metadata: dict[str, str]
    data: bytes


def read_safetensors(path: Path) -> SafetensorsFile:
    """Read and validate `path`; any problem is a CheckpointError naming the file."""
    try:
        with _open_regular_file(path) as f:
            size = os.fstat(f.fileno()).st_size
            prefix = f.read(9)
            header_len = _check_header_length(path, prefix, size)
            f.seek(8)
            header_bytes = f.read(header_len)
            header = _parse_header(path, header_bytes)
            entries, metadata = _check_entries(path, header)
            data_len = max((e.end for e in entries.values()), default=0)
            _check_total_size(path, 8 + header_len + data_len, size)
            f.seek(0)
            data = f.read(size + 1)  # one byte more than expected shows a file that grew meanwhile
    except OSError as err:
        raise CheckpointError(f"cannot read checkpoint: {err.strerror or err}", where=str(path)) from err
    _check_total_size(path, 8 + header_len + data_len, len(data))
    return SafetensorsFile(entries, metadata, data)


def _fail(path: Path, what: str, fix: str = FIX_DAMAGED) -> CheckpointError:
    return CheckpointError(what, where=str(path), fix=fix)


def _open_regular_file(path: Path) -> BinaryIO:
    """Open without blocking (a FIFO would wait for a writer), then insist on a regular file."""
    try:
        return open_regular(path, str(path), CheckpointError)
    except CheckpointError as err:
        raise _fail(path, err.what, FIX_FOREIGN) from None
    except FileNotFoundError as err:
        raise _fail(path, "no such checkpoint file", FIX_FOREIGN) from err
    except IsADirectoryError as err:
        raise _fail(path, "is a directory, not a regular file", FIX_FOREIGN) from err
    except OSError as err:
        raise _fail(path, f"cannot read checkpoint: {err.strerror or err}", FIX_FOREIGN) from err


def _truncated(path: Path, expected: int | str, found: int) -> CheckpointError:
    return _fail(path, f"checkpoint is truncated or corrupted (expected {expected} bytes, found {found})")


def _check_header_length(path: Path, prefix: bytes, size: int) -> int:
    if size < 8:
        raise _truncated(path, "at least 8", size)
    (header_len,) = struct.unpack("<Q", prefix[:8])
    starts_like_json = len(prefix) < 9 or prefix[8:9] == b"{"
    if not starts_like_json or header_len < 2:
        raise _fail(path, NOT_SAFETENSORS, FIX_FOREIGN)
    if header_len > MAX_HEADER_BYTES:
        raise _fail(path, f"checkpoint header claims {header_len} bytes (limit {MAX_HEADER_BYTES})")
    if header_len > size - 8:
        raise _truncated(path, f"at least {8 + header_len}", size)
    return header_len


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate name {key!r}")
        result[key] = value
    return result


def _parse_header(path: Path, header_bytes: bytes) -> dict[str, Any]:
    try:
        header = json.loads(header_bytes.decode("utf-8"), object_pairs_hook=_reject_duplicates)
    except (ValueError, RecursionError) as err:  # ValueError includes UnicodeDecodeError, JSONDecodeError
        if "duplicate name" in str(err):
            raise _fail(path, f"checkpoint header has a {err}") from None
        raise _fail(path, NOT_SAFETENSORS, FIX_FOREIGN) from None
    if not isinstance(header, dict):
        raise _fail(path, NOT_SAFETENSORS, FIX_FOREIGN)
    return header


def _check_entries(path: Path, header: dict[str, Any]) -> tuple[dict[str, TensorEntry], dict[str, str]]:
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise _fail(path, "checkpoint header has a malformed __metadata__ (must map names to strings)")
    entries = {name: _entry(path, name, spec) for name, spec in header.items()}
    _check_layout(path, sorted(entries.values(), key=lambda e: (e.begin, e.end)))
    return entries, metadata


def _is_index(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _entry(path: Path, name: str, spec: Any) -> TensorEntry:
    if not name or not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "data_offsets"}:
        raise _fail(path, f"tensor {name!r} has a malformed header entry")
    dtype, shape, offsets = spec["dtype"], spec["shape"], spec["data_offsets"]
    if dtype not in DTYPES:
        raise _fail(path, f"tensor {name!r} has unsupported dtype {dtype!r} (supported: {', '.join(DTYPES)})")
    if not isinstance(shape, list) or not all(_is_index(d) for d in shape):
        raise _fail(path, f"tensor {name!r} has a malformed shape {shape!r}")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_index(o) for o in offsets):
        raise _fail(path, f"tensor {name!r} has malformed data_offsets {offsets!r}")
    begin, end = offsets
    nbytes = math.prod(shape) * DTYPES[dtype].itemsize  # Python ints: no overflow on hostile shapes
    if end - begin != nbytes:
        raise _fail(path, f"tensor {name!r} of shape {tuple(shape)} {dtype} needs {nbytes} bytes, "
                          f"its offsets [{begin}, {end}] span {end - begin}")  # fmt: skip
    return TensorEntry(name, dtype, tuple(shape), begin, end)


def _check_layout(path: Path, ordered: list[TensorEntry]) -> None:
    """Tensors must tile the data region exactly: no overlap, no gap."""
    position, previous = 0, None
    for entry in ordered:
        if entry.begin < position:
            raise _fail(path, f"tensors {previous.name!r} and {entry.name!r} overlap in the data region")
        if entry.begin > position:
            raise _fail(path, f"{entry.begin - position} unused bytes before tensor {entry.name!r}")
        position, previous = entry.end, entry


def _check_total_size(path: Path, expected: int, found: int) -> None:
    if expected != found:
        raise _truncated(path, expected, found)
