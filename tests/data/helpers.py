"""Helpers for the data tests: configs as YAML would give them, writers of small (bad) files."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from backprop_cli.config.schema import DataConfig
from tests.datafiles import SLICE_DIR

SLICE_MNIST = SLICE_DIR / "mnist"  # the real slice shipped with the tests: always there
LABELS = "train-labels-idx1-ubyte.gz"
BUNDLED = Path(__file__).resolve().parents[2] / "backprop_cli" / "datasets"  # iris.csv, digits.csv


def data_cfg(**fields) -> DataConfig:
    """A DataConfig as the YAML `data:` section would give it."""
    return DataConfig(**fields)


def write_idx(path: Path, array: np.ndarray, *, type_code: int = 0x08, dims=None, gz: bool = True) -> Path:
    """An IDX file of `array` (uint8 by default); `dims` overrides the header's dimensions."""
    dims = array.shape if dims is None else dims
    header = bytes([0, 0, type_code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)
    payload = header + array.astype(">u1" if type_code == 0x08 else array.dtype).tobytes()
    path.write_bytes(gzip.compress(payload, mtime=0) if gz else payload)
    return path


def write_csv(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)
