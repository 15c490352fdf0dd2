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

import math
import warnings
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
        stats = _number_statistics(cells.numbers)
        columns = []
        for t in cells.types:
            if t.type == "number":
                columns.append(_fit_number(t, stats[t.missing][cells.number_index[t.name]], cells))
            else:
                columns.append(_fit_category(t, cells.categories[t.name]))
        return cls(columns)

    @property
    def feature_names(self) -> list[str]:
        return [name for c in self.columns for name in c.names()]

    @property
    def types(self) -> list[ColumnType]:
        return [c.type for c in self.columns]

    def unscaled(self) -> np.ndarray:
        """(F,) bool: the encoded columns that the scaler leaves as they are (one-hot and indicator columns)."""
        widths = np.array([c.width for c in self.columns])
        untouched = np.ones(widths.sum(), dtype=bool)
        starts = np.cumsum(widths) - widths
        numbers = [k for k, c in enumerate(self.columns) if c.type.type == "number"]
        untouched[starts[numbers]] = False  # a number column itself is scaled; its indicator after it is not
        return untouched

    def encode(self, cells: TableCells) -> tuple[np.ndarray, dict[str, int]]:
        """The model's raw input (N, F) and, per column, how many rows held a level unseen in training."""
        _refuse_dropped(self.columns, cells)
        out = np.empty((len(cells), sum(c.width for c in self.columns)), dtype=np.float64)
        starts = np.cumsum([0] + [c.width for c in self.columns])[:-1]
        numbers = [(k, c) for k, c in enumerate(self.columns) if c.type.type == "number"]
        if numbers:  # every number column at once: a table may have 30,000 of them
            source = [cells.number_index[c.type.name] for _, c in numbers]
            at = starts[[k for k, _ in numbers]]
            block = cells.numbers[:, source]
            missing = np.isnan(block)
            out[:, at] = np.where(missing, np.array([c.fill for _, c in numbers]), block)
            flagged = [i for i, (_, c) in enumerate(numbers) if c.type.indicator]
            out[:, at[flagged] + 1] = missing[:, flagged]  # `<name>_missing`, right after its column
        unseen = {}
        for k, c in enumerate(self.columns):
            if c.type.type == "category":
                out[:, starts[k] : starts[k] + c.width], n = _one_hot(c, cells.categories[c.type.name])
                unseen.update({c.type.name: n} if n else {})
        return out, unseen

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


def _number_statistics(numbers: np.ndarray) -> dict[str, list[float]]:
    """Per column of the (N, k) block, over its present values: mean and median (NaN when none is present);
    the fill value of the other strategies is the column's own (NaN here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column: NaN, named by _fit_number
        stats = {"mean": np.nanmean(numbers, axis=0), "median": np.nanmedian(numbers, axis=0)}
    for name in stats:  # NaN means no value; a statistic that overflows (1e308s) is inf, refused when scaling
        stats[name][np.isnan(stats[name]) & (~np.isnan(numbers)).any(axis=0)] = math.inf
    nothing = [math.nan] * numbers.shape[1]
    return {"constant": nothing, "drop_rows": nothing, **{k: v.tolist() for k, v in stats.items()}}


def _fit_number(t: ColumnType, statistic: float, cells: TableCells) -> FittedColumn:
    """`statistic`: the column's mean or median for those strategies."""
    if t.missing not in ("mean", "median"):  # constant, or drop_rows (whose rows are gone: nothing is filled)
        return FittedColumn(t, float(t.fill_value or 0.0))
    if math.isnan(statistic):
        raise DataError(
            f"column `{t.name}` has no value in the training rows, so its {t.missing} is undefined",
            where=cells.source,
            fix=f"mark it `{t.name}: ignore` under data.columns, or give it missing: constant",
        )
    return FittedColumn(t, statistic)


def _fit_category(t: ColumnType, values: np.ndarray) -> FittedColumn:
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


def _refuse_dropped(columns: list[FittedColumn], cells: TableCells) -> None:
    """A missing value where training dropped such rows: the model has nothing to put there."""
    for c in columns:
        missing = cells.missing(c.type.name) if c.type.missing == "drop_rows" else None
        if missing is not None and missing.any():
            i = int(np.argmax(missing))
            raise DataError(
                f"line {cells.lines[i]}, column `{c.type.name}`: the value is missing, and the model was trained "
                "with missing: drop_rows for it, so it has no value to put there",
                where=cells.source,
                fix="fill that cell, or retrain with another missing strategy for the column",
            )


def _one_hot(c: FittedColumn, values: np.ndarray) -> tuple[np.ndarray, int]:
    """(N, levels) 0/1 with a missing value filled first; a level training never had is an all-zero row."""
    index = {level: k for k, level in enumerate(c.levels)}
    missing = np.equal(values, None)
    filled = np.where(missing, c.fill, values) if c.fill is not MISSING_LEVEL else values
    codes = np.array([index.get(v, -1) for v in filled], dtype=np.int64)
    block = np.zeros((len(codes), len(c.levels)), dtype=np.float64)
    seen = codes >= 0
    block[np.flatnonzero(seen), codes[seen]] = 1.0
    return block, int((~seen).sum())
