"""Typed columns of a table: which columns are numbers and which are categories, and their cells as arrays.

The inference rule (for every column `data.columns` does not name): a cell in `data.na_values` (blank, NA,
NaN, null, ?) is a missing value; a column whose other cells are all numbers is a number column, one with
any other text a category. The target and the weight column are not features.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass
from operator import itemgetter

import numpy as np

from backprop_cli.config.missing import resolved_column
from backprop_cli.data.csvfile import CsvTable, is_number
from backprop_cli.data.hints import did_you_mean, plural
from backprop_cli.errors import ConfigError, DataError


@dataclass(frozen=True)
class ColumnType:
    """One feature column as it will be read: its type and missing-value strategy, resolved."""

    name: str
    type: str  # "number" | "category"
    missing: str  # mean | median | constant | drop_rows  /  most_frequent | missing_level | constant | drop_rows
    fill_value: float | str | None = None
    indicator: bool = False
    encode: str = "onehot"
    dim: int | None = None

    def to_spec(self) -> dict:
        """The column as it stands in a resolved config's `data.columns` (config/columns.resolved_column)."""
        keys = {"type": self.type, "missing": self.missing, "fill_value": self.fill_value,
                "indicator": self.indicator or None, "encode": self.encode if self.encode != "onehot" else None,
                "dim": self.dim}  # fmt: skip
        return {k: v for k, v in keys.items() if v is not None}


@dataclass
class TableCells:
    """Feature columns as arrays: the number columns as one float64 block (N, k) (NaN where missing), in the
    order of `types`; each category an object array (None where missing); `lines`: each row's line number."""

    types: list[ColumnType]
    numbers: np.ndarray  # (N, k): the number columns, k of them
    categories: dict[str, np.ndarray]
    lines: np.ndarray
    source: str

    def __len__(self) -> int:
        return len(self.lines)

    @functools.cached_property
    def number_index(self) -> dict[str, int]:
        return {t.name: k for k, t in enumerate(t for t in self.types if t.type == "number")}

    def take(self, rows: np.ndarray) -> TableCells:
        categories = {name: v[rows] for name, v in self.categories.items()}
        return TableCells(self.types, self.numbers[rows], categories, self.lines[rows], self.source)

    def missing(self, name: str) -> np.ndarray:
        if name in self.categories:
            return np.equal(self.categories[name], None)
        return np.isnan(self.numbers[:, self.number_index[name]])


def plan_columns(table: CsvTable, cfg, skip: set[str], kinds: dict[str, str] | None = None) -> list[ColumnType]:
    """Every feature column's type: as `data.columns` names it, else as the file's own types say (`kinds`,
    Parquet's), else inferred from the cells. Columns in `skip` (the target, the weight column) and those
    marked `ignore` are not features."""
    given = cfg.columns or {}
    for name in given:
        if not table.has_column(name):
            raise ConfigError(
                f"names `{name}`, which {table.source} does not have (its columns: {', '.join(table.columns)})",
                where=f"data.columns.{name}",
                fix=did_you_mean(name, table.columns),
            )
    names = cfg.features if cfg.features is not None else [c for c in table.columns if c not in skip]
    na = set(cfg.na_values)
    all_numbers = _parse_block(table, [table.column_index(n) for n in names]) is not None  # the common case, fast
    inferred = {kind: resolved_column(_Inferred(kind), cfg.missing) for kind in ("number", "category")}
    planned = []
    for name in names:
        spec = given.get(name)
        if spec is not None and spec.type == "ignore":
            continue
        kind = spec.type if spec is not None else (kinds or {}).get(name) or _inferred(table, name, na, all_numbers)
        if spec is not None and spec.encode == "embedding":
            raise ConfigError(
                "encode: embedding is not available yet: categories are one-hot encoded",
                where=f"data.columns.{name}.encode",
                fix="remove `encode` and `dim` (one column per level, an unseen level all-zero)",
            )
        keys = inferred[kind] if spec is None else resolved_column(spec, cfg.missing)
        planned.append(ColumnType(name, **{"indicator": False, **keys}))
    if not planned:
        raise DataError("every column but the target is ignored: nothing is left for features", where=table.source)
    return planned


def _inferred(table: CsvTable, name: str, na: set[str], all_numbers: bool) -> str:
    if all_numbers:
        return "number"
    j = table.column_index(name)
    for row in table.cells:
        cell = row[j]
        if cell not in na and not is_number(cell):
            return "category"
    return "number"


@dataclass(frozen=True)
class _Inferred:
    """What an inferred column's spec would be: its type, every other key at its default."""

    type: str
    missing: str | None = None
    fill_value: float | str | None = None
    indicator: bool = False
    encode: str = "onehot"
    dim: int | None = None


def require_columns(table: CsvTable, names: list[str]) -> None:
    """Every one of `names` is a column of `table` (whose header may hold more, in any order)."""
    if table.columns is None and table.assumed is None:
        raise DataError(
            "has no header, and this model reads typed columns by name",
            where=table.source,
            fix=f"add a header line naming the columns ({', '.join(names[:6])}{', ...' if len(names) > 6 else ''})",
        )
    for name in names:
        if not table.has_column(name):
            raise DataError(
                f"has no column `{name}`, which the model needs",
                where=table.source,
                fix=did_you_mean(name, table.columns or []),
            )


def describe_plan(types: list[ColumnType], ignored: int) -> str:
    """`columns: 12 number, 4 category, 1 ignored`: the inference, printed once."""
    counts = Counter(t.type for t in types)
    parts = [f"{counts.get('number', 0)} number", f"{counts.get('category', 0)} category", f"{ignored} ignored"]
    return "columns: " + ", ".join(parts)


def read_cells(table: CsvTable, types: list[ColumnType], na_values) -> TableCells:
    """The planned columns of `table` as typed arrays; a number column's text or non-finite cell is a
    DataError naming its line and column."""
    na = set(na_values)
    numeric = [table.column_index(t.name) for t in types if t.type == "number"]
    block = _parse_block(table, numeric)
    if block is None:  # a blank or NA somewhere: column by column
        block = np.empty((len(table.cells), len(numeric)), dtype=np.float64)
        for k, j in enumerate(numeric):
            block[:, k] = _numbers(table, j, [row[j] for row in table.cells], na)
    else:  # parsed at once: only the NaN and inf cells need a look
        _check_non_finite(table, numeric, block, na)
    categories = {}
    for t in types:
        if t.type == "category":
            j = table.column_index(t.name)
            categories[t.name] = _levels([row[j] for row in table.cells], na)
    return TableCells(types, block, categories, np.asarray(table.lines, dtype=np.int64), table.source)


def _parse_block(table: CsvTable, columns: list[int]) -> np.ndarray | None:
    """The columns as float64 (N, k) when every cell parses as a number (NaN and inf included), else None."""
    if not columns:
        return np.empty((len(table.cells), 0), dtype=np.float64)
    pick = itemgetter(*columns) if len(columns) > 1 else lambda row: (row[columns[0]],)
    try:
        return np.array([pick(row) for row in table.cells], dtype=np.float64).reshape(len(table.cells), -1)
    except ValueError:
        return None


def _check_non_finite(table: CsvTable, columns: list[int], block: np.ndarray, na: set[str]) -> None:
    """A parsed block: `NaN` spelled as a missing value stays NaN (missing), other non-finite cells are errors."""
    for i, k in np.argwhere(~np.isfinite(block)):
        j = columns[k]
        if table.cells[i][j] not in na:
            _bad_cell(table, int(i), j, "is not a finite number", "fix or remove that row (numbers must be finite)")


def _numbers(table: CsvTable, j: int, cells: list[str], na: set[str]) -> np.ndarray:
    out = np.empty(len(cells), dtype=np.float64)
    for i, cell in enumerate(cells):
        if cell in na:
            out[i] = np.nan
            continue
        try:
            out[i] = float(cell)
        except ValueError:
            _bad_cell(table, i, j, "is not a number", "a number column: fix the cell, or type the column category")
        if not np.isfinite(out[i]):
            _bad_cell(table, i, j, "is not a finite number", "fix or remove that row (numbers must be finite)")
    return out


def _levels(cells: list[str], na: set[str]) -> np.ndarray:
    out = np.empty(len(cells), dtype=object)
    out[:] = [None if cell in na else cell for cell in cells]
    return out


def _bad_cell(table: CsvTable, i: int, j: int, problem: str, fix: str) -> None:
    raise DataError(
        f"line {table.lines[i]}, column {table.column_label(j)}: value `{table.cells[i][j]}` {problem}",
        where=table.source,
        fix=fix,
    )


def drop_incomplete_rows(cells: TableCells) -> tuple[np.ndarray, str | None]:
    """Rows to keep: those with a value in every `missing: drop_rows` column; and the note saying how many went."""
    keep = np.ones(len(cells), dtype=bool)
    dropping = [t.name for t in cells.types if t.missing == "drop_rows"]
    for name in dropping:
        keep &= ~cells.missing(name)
    dropped = int(len(keep) - keep.sum())
    if not dropped:
        return np.flatnonzero(keep), None
    return np.flatnonzero(keep), f"missing: drop_rows dropped {plural(dropped, 'row')} ({', '.join(dropping)})"
