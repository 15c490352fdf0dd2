"""Where the tests find their data: a real MNIST slice shipped in tests/fixtures/data, the full sets when present.

- The slice (`SLICE_DIR/mnist/`): the first 500 training and first 200 test images of the canonical
  IDX files, with their labels, gzipped; its checksums are in `SLICE_FILES` and datasets/README.md.
  It is always there, so loader, download and pipeline tests run in a fresh clone with nothing beside it.
- The full sets: `$BACKPROP_DATA_DIR` when it is set, else the `shared/datasets` folder beside the checkout (as
  in CI). Tests that need them call `require_full_mnist()`: with `CI=true` their absence is a failure,
  elsewhere a skip that says how to enable them.
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import pytest

from backprop_cli.data.remote import Checksum, RemoteFile
from tests.ci_guard import in_ci

ROOT = Path(__file__).resolve().parents[1]
SLICE_DIR = ROOT / "tests" / "fixtures" / "data"  # a data directory: SLICE_DIR/mnist/*.gz
SHARED_DATA = ROOT.parent / "shared" / "datasets"
USER_DATA_DIR = os.environ.get("BACKPROP_DATA_DIR")  # read before conftest points it anywhere
SLICE_COUNTS = {"train": 500, "test": 200}
FULL_COUNTS = {"train": 60000, "test": 10000}

_SLICE_ORIGIN = "sha256 of the gunzipped content of the slice (tests/fixtures/make_mnist_slice.py)"
SLICE_FILES = tuple(
    RemoteFile(name, Checksum("sha256", digest, "content", _SLICE_ORIGIN))
    for name, digest in [
        ("train-images-idx3-ubyte.gz", "3834b3c6657b695ab95d35272e0c99628bafaddd1218231d414d32fc8dda62c4"),
        ("train-labels-idx1-ubyte.gz", "ba45bb0bb877d1f0cd391545d1bea8eb5150dcfb760f2a01f0b40de7664347e3"),
        ("t10k-images-idx3-ubyte.gz", "cefe86a05637f831a20aef251bd9db19004a2c986ec848d345c40ffd09264afc"),
        ("t10k-labels-idx1-ubyte.gz", "181dda88fbf8032cf747bf0766ad9d035b6bb747997214d834eb8d2f33a72210"),
    ]
)


def full_data_dir() -> Path | None:
    """The directory holding the full data sets (mnist/ with 60000 training images), or None."""
    candidate = Path(USER_DATA_DIR).expanduser() if USER_DATA_DIR else SHARED_DATA
    return candidate if _holds_full_mnist(candidate / "mnist") else None


def mnist_data_dir() -> Path:
    """A data directory with MNIST in it: the full set when present, else the slice."""
    return full_data_dir() or SLICE_DIR


def require_full_mnist() -> Path:
    """The full data directory; absent, a failure when CI=true, elsewhere a skip saying how to enable."""
    found = full_data_dir()
    if found is not None:
        return found
    where = f"BACKPROP_DATA_DIR={USER_DATA_DIR}" if USER_DATA_DIR else str(SHARED_DATA)
    message = (
        f"needs the full MNIST IDX files, not found in {where}/mnist; to run it, put the four canonical "
        "*-ubyte.gz files there or set BACKPROP_DATA_DIR to a directory holding mnist/ "
        "(`backprop data download mnist` fetches them)"
    )
    if in_ci():
        pytest.fail(f"CI=true: this test is required and {message}")
    pytest.skip(message)


def _holds_full_mnist(directory: Path) -> bool:
    labels = directory / "train-labels-idx1-ubyte.gz"
    if not labels.is_file():
        return False
    try:
        with gzip.open(labels) as f:
            header = f.read(8)
    except OSError:
        return False
    return len(header) == 8 and struct.unpack(">I", header[4:])[0] == FULL_COUNTS["train"]
