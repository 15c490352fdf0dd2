"""Parquet and Feather tables (the optional `pyarrow` extra), read by row groups into the typed-column path.

A column `data.columns` does not name is typed by Arrow, not by its cells: numbers and booleans are number
columns, text and dictionaries categories. A null (and a NaN in a float column) is a missing value. The
cells then go where a CSV's go (data/tablefile.py), so a row is named by the line it would have in a CSV
export of the table (its first row is line 2).
"""

from __future__ import annotations

import math
from pathlib import Path

from backprop_cli.data.csvfile import CsvTable
from backprop_cli.errors import DataError

ARROW_SUFFIXES = (".parquet", ".pq", ".feather", ".arrow")
INSTALL = "install the optional extra: pip install 'backprop-cli[parquet]'"


def require_pyarrow(source: str):
    try:
        import pyarrow
    except ImportError:
        raise DataError(
            "reading Parquet or Feather needs the `pyarrow` package, which is not installed", where=source, fix=INSTALL
        ) from None
    return pyarrow


def read_arrow_table(path: str) -> CsvTable:
    """The table's cells as text, row group by row group (record batch by record batch for Feather)."""
    pa = require_pyarrow(path)
    if not Path(path).is_file():
        raise DataError("file not found", where=path, fix="check the path (relative to the current directory)")
    try:
        schema, batches = _batches(pa, path)
        names = list(schema.names)
        cells: list[list[str]] = []
        for batch in batches:
            columns = [_texts(pa, batch.column(j)) for j in range(batch.num_columns)]
            cells.extend(map(list, zip(*columns)))
    except (pa.ArrowException, OSError) as err:
        raise DataError(f"not a readable Parquet or Feather file ({err})", where=path) from None
    if not cells:
        raise DataError("has columns but no rows", where=path, fix="write the rows too")
    return CsvTable(path, names, cells, list(range(2, len(cells) + 2)))


def arrow_types(path: str) -> dict[str, str]:
    """number or category for each column, by its Arrow type."""
    pa = require_pyarrow(path)
    schema, _ = _batches(pa, path, rows=False)
    types = pa.types
    return {
        field.name: "number" if types.is_integer(field.type) or types.is_floating(field.type)
        or types.is_boolean(field.type) or types.is_decimal(field.type) else "category"
        for field in schema
    }  # fmt: skip


def _batches(pa, path: str, rows: bool = True):
    if Path(path).suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        file = pq.ParquetFile(path)
        return file.schema_arrow, (file.read_row_group(i) for i in range(file.num_row_groups)) if rows else ()
    import pyarrow.ipc as ipc

    reader = ipc.open_file(pa.memory_map(path, "r"))
    return reader.schema, (reader.get_batch(i) for i in range(reader.num_record_batches)) if rows else ()


def _texts(pa, column) -> list[str]:
    """A column's cells as a CSV would hold them: numbers exactly (repr), booleans 1/0, null or NaN blank."""
    if hasattr(column, "combine_chunks"):
        column = column.combine_chunks()
    values = column.to_pylist()
    if pa.types.is_dictionary(column.type) or pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return ["" if v is None else str(v) for v in values]
    return ["" if v is None or (isinstance(v, float) and math.isnan(v)) else _number(v) for v in values]


def _number(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return repr(value) if isinstance(value, float) else str(value)
