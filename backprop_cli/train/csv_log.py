"""metrics.csv: metrics.jsonl as one flat table, one row per epoch, for spreadsheets and pandas.

Nested keys become dotted columns (`layers.<i>.<stat>`: `layers.0.grad_norm`, `layers.3.0.dead_fraction`);
lists (warnings, the per-step samples) stay in metrics.jsonl. Columns keep their first appearance's
order; a missing value (no validation split, a statistic a layer lacks) is an empty cell. The file is
rewritten whole from metrics.jsonl after each epoch's line is appended, so after a resume it agrees
with the repaired log, and `backprop runs export RUN --format csv` writes the same bytes for a past run.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

from backprop_cli.errors import RunDirError
from backprop_cli.runs.atomic import atomic_write_text
from backprop_cli.runs.metrics_log import read_metrics
from backprop_cli.runs.rundir import RunFiles
from backprop_cli.train.callbacks import Callback

CSV_NAME = "metrics.csv"


def flat_record(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"epoch": 3, "layers": {"0": {"grad_norm": 0.1}}} -> {"epoch": 3, "layers.0.grad_norm": 0.1}; lists dropped."""
    row: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, Mapping):
            row.update(flat_record(value, f"{prefix}{key}."))
        elif not isinstance(value, list):
            row[f"{prefix}{key}"] = value
    return row


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value) if isinstance(value, float) else str(value)  # repr: floats read back exactly


def metrics_csv_text(records: Iterable[Mapping[str, Any]]) -> str:
    """The CSV text (RFC 4180 quoting, a header row) of the records' flat rows."""
    rows = [flat_record(r) for r in records]
    columns = list(dict.fromkeys(key for row in rows for key in row))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([_cell(row.get(c)) for c in columns] for row in rows)
    return out.getvalue()


def write_metrics_csv(files: RunFiles) -> None:
    """Write the run's metrics.csv atomically from its metrics.jsonl."""
    atomic_write_text(files.root / CSV_NAME, metrics_csv_text(read_metrics(files.metrics)))


def export_metrics_csv(run, path) -> list[str]:
    """Write a past run's (`runs.listing.Run`) epochs as CSV to `path`; return what the CSV lacks, for the user:
    each damaged line of metrics.jsonl skipped, and the epochs the run went through that have no record. A log
    with no whole record at all is refused, rather than written as an empty table that looks like a result."""
    records, problems = run.metrics, list(run.metric_problems)
    epochs = {r["epoch"] for r in records}
    ran = (run.summary or {}).get("epochs_run")
    last = max([*epochs, ran if isinstance(ran, int) else 0])
    missing = sorted(set(range(1, last + 1)) - epochs)
    if problems and not records:
        raise RunDirError(
            f"metrics.jsonl holds no readable epoch record ({problems[0]})",
            where=str(run.path),
            fix="nothing to export; `backprop runs show RUN` says what is damaged",
        )
    atomic_write_text(path, metrics_csv_text(records))
    gaps = [
        f"epoch(s) {_spans(missing)} of the {last} run have no record: the CSV has {len(records)} row(s), not {last}"
    ]
    return [f"skipped {problem}" for problem in problems] + (gaps if missing else [])


def _spans(numbers: list[int]) -> str:
    """[1, 2, 3, 7] -> "1-3, 7"."""
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


class CsvLog(Callback):
    """`output.csv: true`: metrics.csv beside metrics.jsonl, brought up to date at every epoch's end.
    It runs after the checkpointer, which appends the epoch's line to metrics.jsonl."""

    name = "csv_log"

    def __init__(self, files: RunFiles):
        self.files = files

    def on_epoch_end(self, trainer, logs: dict) -> None:
        write_metrics_csv(self.files)
