"""Data sets shipped inside the package (backprop_cli/datasets/*.csv): iris and the UCI 8x8 digits."""

from __future__ import annotations

from importlib import resources

import numpy as np

from backprop_cli.data.csvfile import numeric_block, read_table
from backprop_cli.data.dataset import RawData

IRIS_CLASSES = ["setosa", "versicolor", "virginica"]


def bundled_text(filename: str) -> str:
    """A bundled CSV's text, found the same way in an editable install and in a wheel."""
    return (resources.files("backprop_cli") / "datasets" / filename).read_text(encoding="utf-8")


def bundled_size(filename: str) -> int:
    with resources.as_file(resources.files("backprop_cli") / "datasets" / filename) as path:
        return path.stat().st_size


def _table(filename: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    table = read_table(bundled_text(filename), f"datasets/{filename}")
    block = numeric_block(table, list(range(len(table.columns))))
    return block[:, :-1], block[:, -1].astype(np.int64), table.columns[:-1]


def load_iris(cfg, seed: int) -> RawData:
    """150 flowers, 4 measurements in cm, 3 species of 50."""
    x, y, features = _table("iris.csv")
    return RawData(x, y, "classification", "iris", class_names=IRIS_CLASSES, feature_names=features)


def load_digits(cfg, seed: int) -> RawData:
    """1797 images of 8x8 pixels (values 0..16), as (N, 1, 8, 8); without scaling they arrive in [0, 1]."""
    x, y, _ = _table("digits.csv")
    images = x.reshape(len(x), 1, 8, 8)
    return RawData(images, y, "classification", "digits", class_names=[str(d) for d in range(10)], base_scale=16.0)
