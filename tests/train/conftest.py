"""Iris split into a training file and a test file: a run with a test split that trains in a second."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

IRIS = Path(__file__).resolve().parents[2] / "backprop_cli" / "datasets" / "iris.csv"


@pytest.fixture
def iris_files(tmp_path) -> Path:
    """tmp_path/train.csv (110 rows) and tmp_path/test.csv (40 rows), shuffled with a fixed seed."""
    with IRIS.open(newline="") as f:
        header, *rows = list(csv.reader(f))
    random.Random(0).shuffle(rows)
    for name, part in (("train.csv", rows[:110]), ("test.csv", rows[110:])):
        with (tmp_path / name).open("w", newline="") as f:
            csv.writer(f).writerows([header, *part])
    return tmp_path
