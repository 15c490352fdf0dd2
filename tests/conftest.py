"""Shared fixtures: a seeded generator, and the data directory every test (and subprocess) uses; the
CI guard (tests/ci_guard.py): with CI=true, a skip for a missing optional package is a failure; and each
pytest-xdist worker's share of the cores (its BLAS and kernel threads).

The data directory is the full data sets when present (where tests/datafiles.py finds them),
else the MNIST slice shipped in tests/fixtures/data (see tests/datafiles.py).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Compiled bytecode: where the environment says not to write it beside the sources (PYTHONDONTWRITEBYTECODE),
# the suite keeps it in a folder of its own, for itself and every process it starts; else each of them
# compiles the package anew (a cold start 1.1 s instead of 0.75 s) and pytest rewrites every test module.
if sys.dont_write_bytecode:
    _PREFIX = str(Path(__file__).resolve().parents[1] / ".pytest_cache" / "pycache")
    sys.dont_write_bytecode, sys.pycache_prefix = False, _PREFIX
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = _PREFIX

import tests.worker_threads  # noqa: E402, F401 (caps this worker's threads before NumPy loads)

# isort: split
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

# CI is a gate: the property tests run the examples their own seed gives, the same on every run, so that
# a landing never hangs on a case drawn that day. On a developer's machine they draw new examples each run
# (and keep the failing ones in .hypothesis/, replayed first): that is where new cases are found.
from tests.ci_guard import in_ci, pytest_make_collect_report, pytest_runtest_makereport  # noqa: E402, F401 (hooks)

settings.register_profile("ci", derandomize=True, print_blob=True)
if in_ci():
    settings.load_profile("ci")

from tests.datafiles import mnist_data_dir  # noqa: E402
from tests.environment import environment_kept  # noqa: E402


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _environment_as_found():
    """Each test leaves os.environ as it found it (tests/environment.py)."""
    with environment_kept():
        yield


@pytest.fixture(scope="session", autouse=True)
def _data_dir():
    """Point the data directory at real MNIST files: the full set when present, else the slice."""
    os.environ["BACKPROP_DATA_DIR"] = str(mnist_data_dir())
    yield
