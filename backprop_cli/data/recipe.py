"""The table recipe: typed columns -> the model's input matrix, fitted on the training split, saved in the model.

Per column, in the order of the features:
- a number: its missing values filled (mean, median or a constant of the training split), then scaled with
  the rest; `indicator: true` adds a 0/1 column `<name>_missing` after it;
- a category, one-hot: one 0/1 column `<name>=<level>` per level, levels sorted as text; a missing value is
  filled first (most_frequent, a constant, or its own level `<name>=(missing)`, last). A level the training
  split never had is an all-zero row, and counted.

One-hot and indicator columns are not scaled: all-zero stays all-zero. The recipe is JSON (levels and
statistics) in the checkpoint's metadata: nothing is pickled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from backprop_cli.data.columns import ColumnType, TableCells
from backprop_cli.data.hints import plural
from backprop_cli.errors import CheckpointError, DataError

MISSING_LEVEL = None  # the level of missing_level: JSON null, never a spelling a file could hold
MISSING_NAME = "(missing)"
MANY_LEVELS = 50  # more levels than this, or than a tenth of the rows, looks like an ID column


@dataclass
class FittedColumn:
    """One column's fitted part of the recipe."""

    type: ColumnType
    fill: float | str | None = None  # numbers: the value of a missing cell; categories: its level
    levels: list = field(default_factory=list)  # categories: sorted spellings, MISSING_LEVEL last

    @property
    def width(self) -> int:
        return len(self.levels) if self.type.type == "category" else 1 + self.type.indicator

    def names(self) -> list[str]:
        name = self.type.name
        if self.type.type == "number":
            return [name, f"{name}_missing"][: self.width]
        return [f"{name}={MISSING_NAME if lv is MISSING_LEVEL else lv}" for lv in self.levels]


class TableRecipe:
    """Typed columns -> float64 (N, F) in file units (the scaler comes after), with what could not be encoded."""

    def __init__(self, columns: list[FittedColumn]):
        self.columns = columns

    @classmethod
    def fit(cls, cells: TableCells) -> TableRecipe:
        """Fill values and levels from the training rows `cells`."""
        return cls([_fit_column(t, cells.values[t.name], cells.source) for t in cells.types])

    @property
    def feature_names(self) -> list[str]:
        return [name for c in self.columns for name in c.names()]

    @property
    def types(self) -> list[ColumnType]:
        return [c.type for c in self.columns]

    def unscaled(self) -> np.ndarray:
        """(F,) bool: the encoded columns that the scaler leaves as they are (one-hot and indicator columns)."""
        flags = [[c.type.type == "category" or k > 0 for k in range(c.width)] for c in self.columns]
        return np.array([f for column in flags for f in column], dtype=bool)

    def encode(self, cells: TableCells) -> tuple[np.ndarray, dict[str, int]]:
        """The model's raw input (N, F) and, per column, how many rows held a level unseen in training."""
        blocks, unseen = [], {}
        for c in self.columns:
            block, n_unseen = _encode_column(c, cells, cells.values[c.type.name])
            blocks.append(block)
            if n_unseen:
                unseen[c.type.name] = n_unseen
        return np.concatenate(blocks, axis=1), unseen

    def require_plain_numbers(self, cells: TableCells) -> None:
        """For a model saved before typed columns: its inputs were numbers, none missing."""
        for c in self.columns:
            if c.type.type == "category" or cells.missing(c.type.name).any():
                raise DataError(
                    f"column `{c.type.name}` holds text or missing values, which this model (saved before typed "
                    "columns) cannot read",
                    where=cells.source,
                    fix="give numbers in every cell, or retrain the model with this backprop",
                )

    def warnings(self, n_rows: int) -> list[str]:
        """An ID-like column: more levels than MANY_LEVELS, or than a tenth of the training rows."""
        found = []
        for c in self.columns:
            n = len(c.levels)
            if c.type.type == "category" and (n > MANY_LEVELS or (n > 10 and n > n_rows / 10)):
                found.append(
                    f"column `{c.type.name}` has {n} levels in {plural(n_rows, 'training row')}: an ID column "
                    f"teaches nothing that carries over; mark it `{c.type.name}: ignore` under data.columns"
                )
        return found

    def to_dict(self) -> dict:
        return {"columns": [{"spec": {"name": c.type.name, **c.type.to_spec()}, "fill": c.fill, "levels": c.levels}
                            for c in self.columns]}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict) -> TableRecipe:
        """The inverse of to_dict, checked: a damaged entry is a CheckpointError, not a wrong model."""
        try:
            columns = [_column_from(entry) for entry in data["columns"]]
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"the saved table recipe is malformed ({err})") from None
        if not columns:
            raise CheckpointError("the saved table recipe has no columns")
        return cls(columns)


def _column_from(entry: dict) -> FittedColumn:
    spec = dict(entry["spec"])
    t = ColumnType(**spec)
    if t.type not in ("number", "category"):
        raise ValueError(f"column {t.name!r} has type {t.type!r}")
    fill, levels = entry["fill"], list(entry["levels"])
    if t.type == "number" and not (isinstance(fill, (int, float)) and np.isfinite(fill)):
        raise ValueError(f"column {t.name!r} has fill value {fill!r}")
    if t.type == "category" and not all(lv is MISSING_LEVEL or isinstance(lv, str) for lv in levels):
        raise ValueError(f"column {t.name!r} has levels that are not text")
    return FittedColumn(t, fill, levels)


def _fit_column(t: ColumnType, values: np.ndarray, source: str) -> FittedColumn:
    if t.type == "number":
        present = values[~np.isnan(values)]
        if t.missing in ("mean", "median") and not len(present):
            raise DataError(
                f"column `{t.name}` has no value in the training rows, so its {t.missing} is undefined",
                where=source,
                fix=f"mark it `{t.name}: ignore` under data.columns, or give it missing: constant",
            )
        fill = {"mean": np.mean, "median": np.median}.get(t.missing, lambda _: t.fill_value or 0.0)(present)
        return FittedColumn(t, float(fill))
    missing = np.equal(values, None)
    present = values[~missing]
    fill = _category_fill(t, present)
    levels = sorted(set(present.tolist()) | ({fill} if missing.any() and fill is not MISSING_LEVEL else set()))
    if missing.any() and fill is MISSING_LEVEL:
        levels.append(MISSING_LEVEL)
    return FittedColumn(t, fill, levels)


def _category_fill(t: ColumnType, present: np.ndarray):
    if t.missing == "constant":
        return str(t.fill_value)
    if t.missing == "most_frequent" and len(present):
        levels, counts = np.unique(present.astype(str), return_counts=True)  # sorted: ties go to the first
        return str(levels[np.argmax(counts)])
    return MISSING_LEVEL  # missing_level, and drop_rows (whose training rows have no missing value)


def _encode_column(c: FittedColumn, cells: TableCells, values: np.ndarray) -> tuple[np.ndarray, int]:
    missing = cells.missing(c.type.name)
    if missing.any() and c.type.missing == "drop_rows":
        i = int(np.argmax(missing))
        raise DataError(
            f"line {cells.lines[i]}, column `{c.type.name}`: the value is missing, and the model was trained "
            "with missing: drop_rows for it, so it has no value to put there",
            where=cells.source,
            fix="fill that cell, or retrain with another missing strategy for the column",
        )
    if c.type.type == "number":
        filled = np.where(missing, c.fill, values)
        return np.stack([filled, missing.astype(np.float64)][: c.width], axis=1), 0
    index = {level: k for k, level in enumerate(c.levels)}
    filled = np.where(missing, c.fill, values) if c.fill is not MISSING_LEVEL else values
    codes = np.array([index.get(v, -1) for v in filled], dtype=np.int64)  # -1: a level training never had
    block = np.zeros((len(codes), len(c.levels)), dtype=np.float64)
    seen = codes >= 0
    block[np.flatnonzero(seen), codes[seen]] = 1.0
    return block, int((~seen).sum())
