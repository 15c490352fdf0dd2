"""Raw feature rows for `backprop predict`: CSV (a header is optional) or NPY, from a path or stdin bytes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backprop_cli.data.arrays import NPY_MAGIC, load_npy, load_npy_bytes
from backprop_cli.data.arrow import ARROW_SUFFIXES
from backprop_cli.data.columns import require_columns
from backprop_cli.data.csvfile import CsvTable, decode_text, numeric_block, read_table, read_text
from backprop_cli.data.hints import did_you_mean
from backprop_cli.errors import DataError


@dataclass
class FeatureRows:
    x: np.ndarray | None  # float64 (N, F), or the .npy's own shape; None for a typed table (then `table`)
    columns: list[str] | None  # the CSV header, when there was one
    source: str
    table: CsvTable | None = None  # the rows as cells, for a model that reads typed columns


def read_feature_rows(
    src: str | Path | bytes,
    fmt: str | None = None,
    source: str | None = None,
    wanted: list[str] | None = None,
    typed: list | None = None,
) -> FeatureRows:
    """Rows from a path or from bytes (stdin); fmt "csv" | "npy" | None (by suffix or magic bytes).

    CSV: the first row is a header when `csvfile.looks_like_header` says so. With a header and
    `wanted` (the model's feature names), only those columns are read, in that order, so other
    columns (the target, an id) may hold anything. `typed`: the ColumnTypes of a model that reads a
    table's typed columns: the rows stay cells (`table`), matched by the header's names.
    """
    if isinstance(src, bytes):
        source = source or "<stdin>"
        is_npy = fmt == "npy" or (fmt is None and src.startswith(NPY_MAGIC))
        if is_npy:
            return FeatureRows(_numeric(load_npy_bytes(src, source), source), None, source)
        return _csv(decode_text(src, source), source, wanted, typed)
    path = Path(src)
    source = source or str(src)
    if path.suffix.lower() in ARROW_SUFFIXES and typed:  # a Parquet table of rows, read by name
        from backprop_cli.data.arrow import read_arrow_table

        return _typed(read_arrow_table(str(src)), typed)
    if fmt == "npy" or (fmt is None and path.suffix.lower() == ".npy"):
        if typed and any(t.type == "category" for t in typed):
            raise DataError("is an array, and this model reads a table with text columns", where=source,
                            fix="give the rows as CSV with a header")  # fmt: skip
        return FeatureRows(_numeric(load_npy(path, source), source), None, source)
    return _csv(read_text(path, source), source, wanted, typed)


def _typed(table: CsvTable, typed: list) -> FeatureRows:
    """Rows for a typed model stay cells. Without a header, a model of number columns only reads them in
    its order (as a headerless CSV of numbers always was read); text columns need the header's names."""
    if table.columns is None:
        names = [t.name for t in typed]
        if any(t.type == "category" for t in typed) or len(table.cells[0]) != len(names):
            require_columns(table, names)  # its message: a header is needed
        table.assumed = names  # by position; messages keep saying "column 2", as the file has no names
    return FeatureRows(None, table.columns, table.source, table)


def _csv(text: str, source: str, wanted: list[str] | None, typed: list | None = None) -> FeatureRows:
    if typed:
        return _typed(read_table(text, source, header=None, names=[t.name for t in typed]), typed)
    table = read_table(text, source, header=None, names=wanted)
    if table.columns is None or not wanted:
        return FeatureRows(numeric_block(table, list(range(len(table.cells[0])))), table.columns, source)
    for name in wanted:
        if not table.has_column(name):
            raise DataError(
                f"has no column `{name}`, which the model needs", where=source, fix=did_you_mean(name, table.columns)
            )
    return FeatureRows(numeric_block(table, [table.column_index(n) for n in wanted]), list(wanted), source)


def _numeric(x: np.ndarray, source: str) -> np.ndarray:
    if x.dtype.kind not in "biuf":
        raise DataError(f"holds {x.dtype} values, not numbers", where=source, fix="save numeric features")
    return x
