"""What a loader returns (RawData, in the file's units) and what the trainer gets (Dataset, ready to train on)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from backprop_cli.data.scaling import Scaler

if TYPE_CHECKING:
    from backprop_cli.data.columns import TableCells
    from backprop_cli.data.recipe import TableRecipe


@dataclass
class RawData:
    """A dataset as read: x in the file's units (uint8 pixels stay uint8), y already encoded.

    y is int64 class indices (N,) for classification, float64 (N, T) for regression.
    `base_scale` is how many file units make one model unit when no scaling is asked for
    (255 for 8-bit pixels, 16 for the UCI digits, 1 otherwise).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    task: str
    source: str
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    class_names: list[str] | None = None
    feature_names: list[str] | None = None
    target_names: list[str] | None = None
    base_scale: float = 1.0
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # what the user should look at (levels unseen in training)
    # a table (data/tablefile.py): x_train and x_test stay None until load_data encodes these typed cells
    cells: TableCells | None = None
    test_cells: TableCells | None = None
    w_train: np.ndarray | None = None  # row weights (data.weight_column), float64 (N,)
    w_test: np.ndarray | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.x_train.shape[1:])


@dataclass
class Dataset:
    """Scaled, split, C-contiguous arrays in the training dtype, and what eval/predict need to repeat it."""

    x_train: np.ndarray  # (N, *input_shape), scaled, dtype
    y_train: np.ndarray  # int64 (N,) class indices, or (N, T) in dtype (standardized when scale_target)
    x_val: np.ndarray | None
    y_val: np.ndarray | None
    x_test: np.ndarray | None
    y_test: np.ndarray | None
    task: str  # "classification" | "regression"
    n_classes: int | None
    class_names: list[str] | None
    input_shape: tuple[int, ...]
    feature_names: list[str] | None
    scaler: Scaler
    target_scaler: Scaler | None
    source: str = ""
    target_names: list[str] | None = None
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    text: dict | None = None  # text data (data/text.py): its kind and what eval needs; the vocabulary is class_names
    recipe: TableRecipe | None = None  # a table's typed columns, fitted on the training split (data/recipe.py)
    w_train: np.ndarray | None = None  # row weights of each split (data.weight_column), float64 (N,)
    w_val: np.ndarray | None = None
    w_test: np.ndarray | None = None

    @property
    def n_features(self) -> int:
        return math.prod(self.input_shape)

    def describe(self) -> str:
        """A few plain lines for the log: what was loaded, its splits and its preprocessing."""
        kind = f"{self.n_classes} classes" if self.task == "classification" else _targets(self.target_names)
        sizes = [f"train {len(self.x_train)}"]
        sizes += [f"val {len(self.x_val)}"] if self.x_val is not None else []
        sizes += [f"test {len(self.x_test)}"] if self.x_test is not None else []
        lines = [
            f"{self.source}: {self.task}, {kind}, input {self.input_shape}",
            f"  {', '.join(sizes)}",
            f"  scale: {self.scaler.summary()}",
        ]
        if self.target_scaler is not None:
            lines.append(f"  targets: {self.target_scaler.summary()} (metrics in original units)")
        lines += [f"  {note}" for note in self.notes]
        return "\n".join(lines)


def _targets(names: list[str] | None) -> str:
    if not names:
        return "regression targets"
    return f"target {names[0]}" if len(names) == 1 else f"{len(names)} targets"
