"""Finding and reading past runs for `runs list|show|compare` and `plot`, whatever state they are in.

A run may be whole, still training (no summary yet, or one that says "running"), or killed
(a summary that says "running" but no live process holds it), or damaged. Every file is read
through `runread` (regular files only, bounded, fields of the wrong type dropped): a missing file is
an absent piece of the picture, a damaged one makes the run "damaged", never an error for the others.
"""

from __future__ import annotations

import functools
import math
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from backprop_cli.errors import RunDirError
from backprop_cli.runs.rundir import RunFiles, is_run_dir, newest_run_named
from backprop_cli.runs.runread import read_bytes, read_config_file, read_metrics_file, read_summary_file

DEFAULT_RUNS_DIR = "runs"
_STAMPED = re.compile(r"^(?P<name>.+)-(?P<stamp>\d{8}-\d{6})-[0-9a-f]{4}$")
LIST_HINT = "list them with `backprop runs list`"


@dataclass
class Run:
    """One run directory, its files read on first use."""

    path: Path

    @functools.cached_property
    def _config(self) -> tuple[dict[str, Any], list[str]]:
        return read_config_file(RunFiles(self.path).config)

    @functools.cached_property
    def _metrics(self) -> tuple[list[dict[str, Any]], list[str]]:
        return read_metrics_file(RunFiles(self.path).metrics)

    @functools.cached_property
    def _summary(self) -> tuple[dict[str, Any] | None, list[str]]:
        return read_summary_file(RunFiles(self.path).summary)

    @property
    def config(self) -> dict[str, Any]:
        """The resolved config as plain data; {} when config.yaml is missing or damaged."""
        return self._config[0]

    @property
    def metrics(self) -> list[dict[str, Any]]:
        """Every whole epoch record (a torn last line is skipped, a damaged one too)."""
        return self._metrics[0]

    @property
    def metric_problems(self) -> list[str]:
        """The damaged lines of metrics.jsonl that `metrics` left out (a torn last line is not one)."""
        return self._metrics[1]

    @property
    def summary(self) -> dict[str, Any] | None:
        return self._summary[0]

    @property
    def problems(self) -> list[str]:
        """What is damaged in this run's files (empty for a whole run, or one still being written)."""
        return [*self._config[1], *self._summary[1], *self._metrics[1]]

    @property
    def dir_name(self) -> str:
        return self.path.name

    @property
    def name(self) -> str:
        """The config's name, else the summary's, else the directory name without its stamp."""
        for source in (self.config, self.summary or {}):
            if isinstance(source.get("name"), str) and source["name"]:
                return source["name"]
        match = _STAMPED.match(self.dir_name)
        return match["name"] if match else self.dir_name

    @functools.cached_property
    def started(self) -> datetime | None:
        """From the directory's stamp (local time), else config.yaml's modification time."""
        match = _STAMPED.match(self.dir_name)
        if match:
            try:
                return datetime.strptime(match["stamp"], "%Y%m%d-%H%M%S")
            except ValueError:
                pass
        try:
            return datetime.fromtimestamp(RunFiles(self.path).config.stat().st_mtime).replace(microsecond=0)
        except OSError:
            return None

    @property
    def listed_status(self) -> str:
        """What `runs list|show|compare` show: "damaged" when one of its files is, else `status`."""
        return "damaged" if self.problems else self.status

    @property
    def recorded_status(self) -> str:
        """What summary.json says; "running" before the first summary is written."""
        status = (self.summary or {}).get("status")
        return status if isinstance(status, str) else "running"

    @property
    def status(self) -> str:
        """The recorded status, except "killed" for a "running" run whose process is gone."""
        status = self.recorded_status
        if status == "running" and process_alive(self.path) is False:
            return "killed"
        return status

    def config_value(self, dotted: str, default: Any = None) -> Any:
        return get_path(self.config, dotted, default)


def get_path(data: Any, dotted: str, default: Any = None) -> Any:
    """`data["a"]["b"][0]` for "a.b.0"; `default` when any step is missing."""
    for key in dotted.split("."):
        if isinstance(data, dict) and key in data:
            data = data[key]
        elif isinstance(data, list) and key.isdecimal() and int(key) < len(data):
            data = data[int(key)]
        else:
            return default
    return data


def process_alive(run_dir: str | os.PathLike[str]) -> bool | None:
    """Whether the process that last locked the run is alive; None when no PID was recorded."""
    raw, _ = read_bytes(RunFiles(run_dir).lock, 64)  # a PID: a FIFO or a huge file is no PID
    text = (raw or b"").decode("ascii", "replace").strip()
    if not text.isdecimal() or int(text) <= 0:
        return None
    try:
        os.kill(int(text), 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        return True  # alive, owned by another user
    return not _zombie(int(text))


def _zombie(pid: int) -> bool:
    """A killed process its parent has not reaped yet still answers kill(pid, 0) (Linux: state Z)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def find_runs(runs_dir: str | os.PathLike[str]) -> list[Run]:
    """The run directories directly inside `runs_dir`, newest first; RunDirError if it is no directory."""
    runs_dir = Path(runs_dir)
    if not runs_dir.exists():
        raise RunDirError(f"no such directory: {runs_dir}", fix="pass the directory your runs were written to")
    if not runs_dir.is_dir():
        raise RunDirError(f"{runs_dir} is not a directory", fix="pass the directory that holds the run directories")
    try:
        children = sorted(p for p in runs_dir.iterdir() if not p.name.startswith("."))
    except OSError as err:
        raise RunDirError(f"cannot read {runs_dir}: {err.strerror or err}") from err
    runs = [Run(p) for p in children if is_run_dir(p)]
    return sorted(runs, key=lambda r: (r.started or datetime.min, r.dir_name), reverse=True)


def open_run(path: str | os.PathLike[str]) -> Run:
    """The run at `path` (or at `runs/<path>`, or the newest run of that name); RunDirError with a way out."""
    path = newest_run_named(path) or Path(path)
    if is_run_dir(path):
        return Run(path)
    fallback = Path(DEFAULT_RUNS_DIR) / path
    if not path.exists() and is_run_dir(fallback):
        return Run(fallback)
    raise RunDirError(f"{path} is not a run directory", fix=_not_a_run_fix(path))


def _not_a_run_fix(path: Path) -> str:
    if not path.exists():
        return f"no such directory; {LIST_HINT}"
    if path.is_dir():
        try:
            inside = find_runs(path)
        except RunDirError:
            inside = []
        if inside:
            return f"it holds {len(inside)} run(s); pass one, e.g. {inside[0].path}"
    return f"a run directory holds config.yaml and metrics.jsonl; {LIST_HINT}"


def monitor_of(run: Run) -> tuple[str, str]:
    """The metric that picks the best epoch and its mode, as the trainer chooses them."""
    monitor = run.config_value("training.early_stopping.monitor")
    if not isinstance(monitor, str):
        has_val = any(as_number(r.get("val_loss")) is not None for r in run.metrics)
        monitor = "val_loss" if has_val else "train_loss"
    mode = run.config_value("training.early_stopping.mode", "auto")
    if mode not in ("min", "max"):
        mode = "max" if "accuracy" in monitor else "min"
    return monitor, mode


def best_of(run: Run) -> tuple[str | None, float | None, int | None]:
    """(monitor, best value, best epoch): from the summary, else worked out from the metrics."""
    summary = run.summary or {}
    best = summary.get("best")
    if isinstance(best, dict) and best:
        monitor, value = next(iter(best.items()))
        return monitor, as_number(value), summary.get("best_epoch")
    monitor, mode = monitor_of(run)
    scored = [(as_number(r.get(monitor)), r.get("epoch")) for r in run.metrics]
    scored = [(v, e) for v, e in scored if v is not None]
    if not scored:
        return monitor, None, None
    value, epoch = (max if mode == "max" else min)(scored, key=lambda ve: ve[0])
    return monitor, value, epoch


def final_record(run: Run) -> dict[str, Any]:
    """The last epoch's record: the summary's, else the last whole line of metrics.jsonl."""
    final = (run.summary or {}).get("final")
    if isinstance(final, dict) and final:
        return final
    return run.metrics[-1] if run.metrics else {}


def epochs_of(run: Run) -> tuple[int | None, int | None]:
    """(epochs run, epochs configured)."""
    summary = run.summary or {}
    done = summary.get("epochs_run")
    if not isinstance(done, int):
        epochs = [r["epoch"] for r in run.metrics if isinstance(r.get("epoch"), int)]
        done = max(epochs) if epochs else 0
    total = summary.get("epochs")
    if not isinstance(total, int):
        total = run.config_value("training.epochs")
    return done, total if isinstance(total, int) else None


def warnings_of(run: Run) -> list[str]:
    """The summary's warnings, else those the epoch records carry, each once, in order."""
    found = (run.summary or {}).get("warnings")
    if not isinstance(found, list):
        found = [w for r in run.metrics if isinstance(r.get("warnings"), list) for w in r["warnings"]]
    return list(dict.fromkeys(str(w) for w in found))


def run_row(run: Run) -> dict[str, Any]:
    """One line of `runs list`, as JSON-able data."""
    summary = run.summary or {}
    monitor, value, epoch = best_of(run)
    done, total = epochs_of(run)
    test = summary.get("test") if isinstance(summary.get("test"), dict) else None
    return {
        "run": run.dir_name,
        "path": str(run.path),
        "name": run.name,
        "status": run.listed_status,
        "problems": run.problems,
        "epochs_run": done,
        "epochs": total,
        "best_metric": monitor,
        "best_value": value,
        "best_epoch": epoch,
        "test_loss": as_number((test or {}).get("loss")),
        "test_accuracy": as_number((test or {}).get("accuracy")),
        "wall_time_s": as_number(summary.get("wall_time_s")),
        "started": run.started.isoformat() if run.started else None,
    }


def list_runs(runs_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """`run_row` of every run in `runs_dir`, newest first."""
    return [run_row(run) for run in find_runs(runs_dir)]


def as_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None
