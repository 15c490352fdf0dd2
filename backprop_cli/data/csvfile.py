"""CSV text as a table of cells, with every complaint pointing at a file, a line and a column.

Line numbers are those an editor shows: the header is line 1, the first data row line 2.
"""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path

import numpy as np

from backprop_cli.errors import DataError
from backprop_cli.userfiles import read_regular

DELIMITERS = (",", ";", "\t", "|")
_SAMPLE_LINES = 20


@dataclass
class CsvTable:
    source: str  # the file's name as the user gave it, for messages
    columns: list[str] | None  # the header's names; None when the text has no header
    cells: list[list[str]]  # data rows only
    lines: list[int]  # the line number of each data row (header = line 1)
    assumed: list[str] | None = None  # a headerless table's columns named by position (a model's own names)

    @functools.cached_property
    def _index(self) -> dict[str, int]:
        names = self.columns or self.assumed or []
        return {name: j for j, name in enumerate(names)}  # names are distinct (_check_header)

    def has_column(self, name: str) -> bool:
        return name in self._index

    def column_index(self, name: str) -> int:
        """O(1): a list.index per column made a 150,000-column file take minutes."""
        return self._index[name]

    def column_label(self, j: int) -> str:
        return f"`{self.columns[j]}`" if self.columns else f"{j + 1}"


def read_text(path: Path, source: str) -> str:
    """The file as text: UTF-8 (a BOM is dropped); anything else is a DataError, not a traceback."""
    try:
        data = read_regular(path, source)  # a regular file, at most BACKPROP_MAX_INPUT_BYTES
    except FileNotFoundError:
        raise DataError(
            "file not found", where=source, fix="check the path (relative to the current directory)"
        ) from None
    except IsADirectoryError:
        raise DataError("is a directory, not a file", where=source) from None
    except OSError as err:
        raise DataError(f"cannot read the file: {err.strerror}", where=source) from None
    return decode_text(data, source)


def decode_text(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataError(
            f"not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start})",
            where=source,
            fix="save the file as UTF-8 CSV; .npz and .npy files need those suffixes",
        ) from None


def detect_delimiter(text: str) -> str:
    """The candidate that splits the first lines into the same number (> 0) of pieces, the most."""
    sample = [line for line in text.splitlines()[:_SAMPLE_LINES] if line.strip()]
    if not sample:
        return ","
    best, best_count = ",", 0
    for delim in DELIMITERS:
        counts = {line.count(delim) for line in sample}
        if len(counts) == 1 and (count := counts.pop()) > best_count:
            best, best_count = delim, count
    if best_count == 0:  # no consistent candidate: take the header's most frequent one
        best = max(DELIMITERS, key=sample[0].count)
        best = best if sample[0].count(best) else ","
    return best


def parse_rows(text: str, source: str) -> tuple[list[list[str]], list[int]]:
    """Every non-blank row and its line number; a malformed quote or NUL byte is a DataError."""
    _refuse_nul(text, source)
    delimiter = detect_delimiter(text)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    # strip() only when some cell can hold whitespace: most files have none, and stripping is half the time
    padded = any(c.isspace() for c in set(text) - {delimiter, "\n", "\r"})
    rows, lines = [], []
    start = 1
    try:
        for row in reader:
            cells = [cell.strip() for cell in row] if padded else row
            if any(cells):
                rows.append(cells)
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as err:
        raise DataError(f"line {reader.line_num}: malformed CSV ({err})", where=source) from None
    return rows, lines


def _refuse_nul(text: str, source: str) -> None:
    """Python's csv reads NUL as an ordinary character since 3.11, and NumPy's text arrays drop trailing
    NULs, so `a\0` would become the label `a`: no cell may hold one."""
    at = text.find("\0")
    if at < 0:
        return
    line_start = text.rfind("\n", 0, at) + 1
    raise DataError(
        f"line {text.count(chr(10), 0, at) + 1}, column {at - line_start + 1}: a NUL character (byte 0x00), "
        "which no CSV cell may hold",
        where=source,
        fix="this looks like a binary or UTF-16 file: save it as UTF-8 CSV",
    )


def read_table(text: str, source: str, header: bool | None = True, names: list[str] | None = None) -> CsvTable:
    """header=True: the first row must be a header; None: detected (`looks_like_header`, with `names`)."""
    rows, lines = parse_rows(text, source)
    if not rows:
        fix = "give a header line and at least one data row" if header else "give at least one row of features"
        raise DataError("the file is empty" if header else "holds no rows", where=source, fix=fix)
    first_is_header = header if header is not None else looks_like_header(rows[0], names)
    columns = None
    if first_is_header:
        columns = _check_header(rows[0], source, detected=header is None)
        rows, lines = rows[1:], lines[1:]
    table = CsvTable(source, columns, rows, lines)
    if not rows:
        raise DataError("has a header but no data rows", where=source, fix="add data rows below the header")
    _check_ragged(table)
    return table


def looks_like_header(cells: list[str], names: list[str] | None = None) -> bool:
    """The one rule for an optional header: a first row holding every one of the model's feature `names` is a
    header, even when the names are numbers (`1,2,3,4`); otherwise it is one when most of its filled cells are
    not numbers. So `1,abc` or `1,2,x,4` is data with a bad cell (named later), and an empty cell is a missing
    value, not a nameless column."""
    if names and set(names) <= set(cells):
        return True
    filled = [c for c in cells if c]
    return 2 * sum(not is_number(c) for c in filled) > len(filled)


def _check_header(names: list[str], source: str, detected: bool = False) -> list[str]:
    """A header's names: each one named once. A required header (training) of numbers only is data: a
    detected one is a header because it holds the model's names, numbers or not."""
    if not detected and all(is_number(c) for c in names):
        raise DataError(
            f"line 1 looks like data ({','.join(names[:4])}...), not a header",
            where=source,
            fix="add a first line naming the columns, e.g. f1,f2,label",
        )
    seen: dict[str, int] = {}
    for j, name in enumerate(names):
        if not name:
            raise DataError(f"line 1: column {j + 1} has no name", where=source, fix="name every column")
        if name in seen:
            raise DataError(
                f"line 1: columns {seen[name] + 1} and {j + 1} are both named `{name}`",
                where=source,
                fix="give each column its own name",
            )
        seen[name] = j
    return names


def _check_ragged(table: CsvTable) -> None:
    width = len(table.columns) if table.columns else len(table.cells[0])
    for row, line in zip(table.cells, table.lines):
        if len(row) != width:
            against = "the header has" if table.columns else "the first row has"
            raise DataError(
                f"line {line} has {len(row)} fields, {against} {width}",
                where=table.source,
                fix="give every row the same number of fields (check for a stray delimiter)",
            )


def numeric_block(table: CsvTable, columns: list[int]) -> np.ndarray:
    """The given columns as float64 (N, k); the first non-number or non-finite cell is a DataError."""
    if columns == list(range(len(table.cells[0]))):
        cells = table.cells  # every column, in order: no copy (predict's usual case)
    else:
        pick = itemgetter(*columns) if len(columns) > 1 else lambda row: (row[columns[0]],)
        cells = [pick(row) for row in table.cells]
    try:
        block = np.array(cells, dtype=np.float64)
    except ValueError:  # numpy's parser is stricter than float() ("1_000"): find the culprit or fall back
        _raise_first_bad_cell(table, columns)
        block = np.array([[float(c) for c in row] for row in cells], dtype=np.float64)
    block = block.reshape(len(table.cells), len(columns))
    bad = ~np.isfinite(block)
    if bad.any():
        i, k = np.argwhere(bad)[0]
        _raise_cell(table, int(i), columns[int(k)], "is not a finite number")
    return block


def _raise_first_bad_cell(table: CsvTable, columns: list[int]) -> None:
    for i, row in enumerate(table.cells):
        for j in columns:
            if not is_number(row[j]):
                _raise_cell(table, i, j, "is empty" if not row[j] else "is not a number")


def _raise_cell(table: CsvTable, i: int, j: int, problem: str) -> None:
    value = table.cells[i][j]
    raise DataError(
        f"line {table.lines[i]}, column {table.column_label(j)}: value `{value}` {problem}"
        if value
        else f"line {table.lines[i]}, column {table.column_label(j)}: the value {problem}",
        where=table.source,
        fix="fix or remove that row (features must be finite numbers)",
    )


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
