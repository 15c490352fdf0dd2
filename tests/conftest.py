"""Shared fixtures: a seeded generator, and the data directory every test (and subprocess) uses; and the
CI guard (tests/ci_guard.py): with CI=true, a skip for a missing optional package is a failure.

The data directory is the full data sets when present (where tests/datafiles.py finds them),
else the MNIST slice shipped in tests/fixtures/data (see tests/datafiles.py).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from tests.ci_guard import pytest_make_collect_report, pytest_runtest_makereport  # noqa: F401 (hooks)
from tests.datafiles import mnist_data_dir


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="session", autouse=True)
def _data_dir():
    """Point the data directory at real MNIST files: the full set when present, else the slice."""
    os.environ["BACKPROP_DATA_DIR"] = str(mnist_data_dir())
    yield
