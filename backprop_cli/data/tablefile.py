"""The user's table (CSV; Parquet and Feather in data/arrow.py) read as typed columns, targets and row weights.

The features stay typed cells (data/columns.py) until the training split is known: load_data fits the
recipe (data/recipe.py) on that split only and encodes every split with it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from backprop_cli.data.columns import (
    ColumnType,
    TableCells,
    describe_plan,
    drop_incomplete_rows,
    plan_columns,
    read_cells,
    require_columns,
)
from backprop_cli.data.csvfile import CsvTable, read_table, read_text
from backprop_cli.data.dataset import RawData
from backprop_cli.data.hints import did_you_mean, plural
from backprop_cli.data.labels import encode_like, encode_target
from backprop_cli.errors import ConfigError, DataError


def load_csv_table(cfg, known_targets: bool = False, types: list[ColumnType] | None = None) -> RawData:
    """RawData whose features are typed cells (raw.cells); `known_targets`: a row without a target is refused
    (eval scores rows whose answer is known) instead of dropped with a count (training); `types`: a saved
    model's columns (else they are planned from data.columns and inferred)."""
    return table_raw(_csv_reader(cfg.path), cfg, known_targets, _csv_reader, types)


def load_arrow_table(cfg, known_targets: bool = False, types: list[ColumnType] | None = None) -> RawData:
    """As load_csv_table, for Parquet and Feather (data/arrow.py): untyped columns take Arrow's types."""
    from backprop_cli.data.arrow import arrow_types, read_arrow_table

    return table_raw(read_arrow_table(cfg.path), cfg, known_targets, read_arrow_table, types, arrow_types(cfg.path))


def _csv_reader(path: str) -> CsvTable:
    return read_table(read_text(Path(path), path), path)


def table_raw(
    table: CsvTable, cfg, known_targets: bool, read_test, types: list[ColumnType] | None, kinds: dict | None = None
) -> RawData:
    """A read table as RawData: columns typed, rows without a target or a drop_rows value left out, targets
    encoded, weights checked; `read_test(path)` reads data.test_path the same way; `kinds`: the file's own
    column types (Parquet's)."""
    target = pick_target(table, cfg.target)
    weight = _pick_weight(table, cfg.weight_column, target)
    if types is None:
        _check_features(table, cfg.features, target, weight)
        types = plan_columns(table, cfg, {target, weight}, kinds)
    else:
        require_columns(table, [t.name for t in types])
    cells, labels, weights, notes = _rows(table, types, cfg, target, weight, known_targets)
    tgt = encode_target(labels, cfg.task, _line_of(cells), cfg.path, target)
    ignored = len(table.columns) - len(types) - 1 - (weight is not None)
    raw = RawData(
        None, tgt.y, tgt.task, cfg.path, class_names=tgt.class_names, target_names=[target],
        notes=[describe_plan(types, ignored), *notes, *([tgt.note] if tgt.note else [])],
    )  # fmt: skip
    raw.cells, raw.w_train = cells, weights
    if cfg.test_path:
        test = read_test(cfg.test_path)
        _require_training_columns(test, [*(t.name for t in types), target, *([weight] if weight else [])])
        raw.test_cells, test_labels, raw.w_test, test_notes = _rows(test, types, cfg, target, weight, known_targets)
        raw.y_test = encode_like(test_labels, tgt, _line_of(raw.test_cells), cfg.test_path, target)
        raw.notes += [f"{cfg.test_path}: {note}" for note in test_notes]
    return raw


def _rows(table: CsvTable, types, cfg, target: str, weight: str | None, known_targets: bool):
    """The typed cells, the target cells, the weights of the rows that are kept, and notes on the rest."""
    cells = read_cells(table, types, cfg.na_values)
    labels = _column(table, target)
    blank = labels == ""  # only a blank: `NA` or `?` may be a class's name (labels keep their spelling)
    if blank.any() and known_targets:
        i = int(np.argmax(blank))
        raise DataError(
            f"line {table.lines[i]}: the target `{target}` is empty; eval scores rows whose target is known",
            where=table.source,
            fix="fill in or drop that row (predict takes rows without a target)",
        )
    keep, dropped = drop_incomplete_rows(cells)
    keep = keep[~blank[keep]]
    notes = [dropped] if dropped else []
    if blank.any():
        notes.append(f"{plural(int(blank.sum()), 'row')} without a target `{target}` left out")
    if not len(keep):
        raise DataError("no row is left once rows without a target or a drop_rows value are left out",
                        where=table.source, fix="fill in the targets")  # fmt: skip
    weights = _weights(table, weight)[keep] if weight else None
    return cells.take(keep), labels[keep], weights, notes


def _column(table: CsvTable, name: str) -> np.ndarray:
    j = table.column_index(name)
    return np.array([row[j] for row in table.cells], dtype=str)  # labels stay text (labels.encode_target)


def pick_target(table: CsvTable, target: str | None) -> str:
    if target is None:
        if len(table.columns) < 2:
            raise DataError("has one column: nothing is left for features", where=table.source)
        return table.columns[-1]
    if not table.has_column(target):
        raise DataError(
            f"has no column `{target}` (data.target); its columns: {', '.join(table.columns)}",
            where=table.source,
            fix=did_you_mean(target, table.columns),
        )
    return target


def _pick_weight(table: CsvTable, weight: str | None, target: str) -> str | None:
    if weight is None:
        return None
    if not table.has_column(weight):
        raise ConfigError(
            f"names `{weight}`, which {table.source} does not have",
            where="data.weight_column",
            fix=did_you_mean(weight, table.columns),
        )
    if weight == target:
        raise ConfigError("is the target column; row weights need a column of their own", where="data.weight_column")
    return weight


def _weights(table: CsvTable, name: str) -> np.ndarray:
    """Row weights: every cell a finite number >= 0; a blank or a negative one is named with its line."""
    j = table.column_index(name)
    out = np.empty(len(table.cells), dtype=np.float64)
    for i, row in enumerate(table.cells):
        try:
            out[i] = float(row[j])
        except ValueError:
            out[i] = np.nan
        if not (np.isfinite(out[i]) and out[i] >= 0):
            shown = f"`{row[j]}`" if row[j] else "blank"
            raise DataError(
                f"line {table.lines[i]}, column `{name}` (data.weight_column): the weight is {shown}; "
                "row weights must be finite numbers >= 0",
                where=table.source,
                fix="give every row a weight (0 leaves a row out of the loss)",
            )
    if not out.any():
        raise DataError(f"every weight in `{name}` is 0: nothing would be learned", where=table.source)
    return out


def _check_features(table: CsvTable, features: list[str] | None, target: str, weight: str | None) -> None:
    rest = [c for c in table.columns if c not in (target, weight)]
    if features is None:
        if not rest:
            raise DataError(
                f"has only the target column `{target}`: nothing is left for features",
                where=table.source,
                fix="add the feature columns to the file",
            )
        return
    for name in features:
        if not table.has_column(name):
            raise DataError(
                f"has no column `{name}` (data.features)", where=table.source, fix=did_you_mean(name, table.columns)
            )
    if target in features or (weight is not None and weight in features):
        which = f"the target `{target}`" if target in features else f"the weight column `{weight}`"
        raise DataError(f"{which} is also listed in data.features", where=table.source, fix="remove it from there")
    if len(set(features)) != len(features) or not features:
        raise DataError("data.features must list distinct columns, at least one", where=table.source)


def _require_training_columns(table: CsvTable, names: list[str]) -> None:
    missing = [c for c in names if not table.has_column(c)]
    if missing:
        raise DataError(
            f"lacks the column `{missing[0]}` of the training file",
            where=table.source,
            fix=did_you_mean(missing[0], table.columns),
        )


def _line_of(cells: TableCells):
    return lambda i: f"line {cells.lines[i]}"
