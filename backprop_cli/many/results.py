"""A trial's row from its runs' outcomes, the results files, and the ranking.

The metric of a run is read at the epoch whose weights the run keeps (its best epoch when the best
weights are restored, as for its test figures; else its last), `test_*` from its test scores. With
cross-validation a trial's metric is the mean over its folds (and `<metric>_std` their spread).
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from backprop_cli.many.spec import METRICS
from backprop_cli.runs.atomic import append_line_durable
from backprop_cli.runs.jsonio import dumps

# a trial with these is not run again; "paused": successive halving stopped it at the end of a rung
FINISHED = ("completed", "early_stopped", "paused", "failed", "diverged")
GOOD = ("completed", "early_stopped", "paused")  # the run produced its figures
# a run that did not end: stopped, never started, or still held by another process (a lost client's worker)
UNFINISHED = ("interrupted", "not_started", "busy")


def metric_of(outcome: dict[str, Any], name: str) -> float | None:
    """The run's value of `name` (val_accuracy, test_loss, ...), or None when it has none."""
    summary = outcome.get("summary") or {}
    if name.startswith("test_"):
        value = (summary.get("test") or {}).get(name[len("test_") :])
    else:
        epoch = outcome.get("kept_epoch") or summary.get("epochs_run")
        records = [r for r in outcome.get("metrics") or [] if r.get("epoch") == epoch]
        value = records[-1].get(name) if records else None
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def run_figures(outcome: dict[str, Any]) -> dict[str, Any]:
    """One run's row: status, every metric it has, epochs, seconds, directory, attempts, error."""
    summary = outcome.get("summary") or {}
    figures = {name: metric_of(outcome, name) for name in METRICS}
    return {
        "status": outcome["status"],
        **{k: v for k, v in figures.items() if v is not None},
        "epochs": summary.get("epochs_run"),
        "seconds": outcome.get("seconds"),
        "run_dir": outcome.get("run_dir"),
        "attempts": outcome.get("attempts"),
        "error": outcome.get("error"),
    }


def trial_row(
    trial: int, parameters: dict[str, Any], outcomes: list[dict[str, Any]], metric: str, runs_key: str = "folds"
) -> dict[str, Any]:
    """A trial's row from its run (or its folds' or seeds' runs, listed under `runs_key`): the first
    failure decides a failed status."""
    runs = [run_figures(o) for o in outcomes]
    bad = [r for r in runs if r["status"] not in GOOD]
    row: dict[str, Any] = {"trial": trial, "parameters": parameters, "status": (bad or runs)[0]["status"]}
    if len(runs) == 1:
        row.update({k: v for k, v in runs[0].items() if k != "status"})
        row[metric] = runs[0].get(metric) if not bad else None  # a diverged run's earlier epochs rank nothing
        return row
    mean, std = mean_std(runs)
    row.update({metric: mean.get(metric), f"{metric}_std": std.get(metric), runs_key: runs})
    row["epochs"] = sum(r["epochs"] or 0 for r in runs)
    row["seconds"] = round(sum(r["seconds"] or 0.0 for r in runs), 3)
    row["run_dir"] = str(Path(runs[0]["run_dir"]).parent)
    row["attempts"] = max(r["attempts"] or 1 for r in runs)
    row["error"] = bad[0]["error"] if bad else None
    return row


def mean_std(runs: list[dict[str, Any]]) -> tuple[dict[str, float], dict[str, float]]:
    """Mean and standard deviation (population, as scikit-learn's cross_val_score(...).std()) of each
    metric that every run reports; none when a run failed."""
    if any(r["status"] not in GOOD for r in runs):
        return {}, {}
    mean, std = {}, {}
    for name in METRICS:
        values = [r.get(name) for r in runs]
        if values and all(v is not None for v in values):
            mean[name] = math.fsum(values) / len(values)
            std[name] = math.sqrt(math.fsum((v - mean[name]) ** 2 for v in values) / len(values))
    return mean, std


def ranked(rows: list[dict[str, Any]], metric: str, mode: str) -> list[dict[str, Any]]:
    """Best first by the metric (with successive halving: the highest rung reached first, as its figures
    come from more epochs); trials without a value (failed ones) last, in trial order."""
    sign = -1.0 if mode == "max" else 1.0
    scored = sorted(
        (r for r in rows if r.get(metric) is not None),
        key=lambda r: (-(r.get("rung") or 0), sign * r[metric], r["trial"]),
    )
    return scored + sorted((r for r in rows if r.get(metric) is None), key=lambda r: r["trial"])


class ResultsFiles:
    """results.jsonl (one JSON object per trial) and results.csv (the same, flat), appended as trials end."""

    def __init__(self, directory: Path, parameters: list[str], metric: str, multi_run: bool, rungs: bool = False):
        self.jsonl, self.csv = directory / "results.jsonl", directory / "results.csv"
        extra = [f"{metric}_std"] if multi_run else []
        rung = ["rung"] if rungs else []
        self.columns = ["trial", *parameters, "status", *rung, metric, *extra, "epochs", "seconds", "attempts"]
        self.columns.append("run_dir")
        self.columns.append("error")
        self.parameters = parameters

    def start(self) -> None:
        """The header row; both files exist from the start (empty of trials)."""
        self.jsonl.touch()
        if not self.csv.exists():
            append_line_durable(self.csv, _csv_line(self.columns))

    def append(self, row: dict[str, Any]) -> None:
        append_line_durable(self.jsonl, dumps(row))
        flat = {**{k: _cell(v) for k, v in row["parameters"].items()}, **row}
        append_line_durable(self.csv, _csv_line([_cell(flat.get(c)) for c in self.columns]))

    def read(self) -> list[dict[str, Any]]:
        """The rows written so far (a torn last line, from a crash, is left out)."""
        from backprop_cli.runs.metrics_log import read_metrics

        return [r for r in read_metrics(self.jsonl) if r.get("status") in FINISHED]


def _cell(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return "" if value is None else value


def _csv_line(cells: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)  # quoted per RFC 4180
    return out.getvalue()
