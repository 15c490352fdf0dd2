"""Shared fixtures: a seeded generator and the real data sets in ../shared/datasets."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "datasets"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="session", autouse=True)
def _data_dir():
    """Point the data directory at the real MNIST files, as the README tells users to."""
    if SHARED_DATA.is_dir() and "BACKPROP_DATA_DIR" not in os.environ:
        os.environ["BACKPROP_DATA_DIR"] = str(SHARED_DATA)
    yield
