"""`runs compare`: the config keys in which runs differ (as --set paths), and their metrics side by side."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from backprop_cli.runs.listing import Run, as_number, best_of, epochs_of, final_record

MISSING = None  # a key one run has and another lacks compares as absent (null in JSON)
METRIC_KEYS = ("train_loss", "val_loss", "train_accuracy", "val_accuracy")


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Leaves of nested dicts and lists by dotted path, the syntax of `--set`: {"model.layers.0.units": 64}."""
    if isinstance(data, dict) and data:
        items = data.items()
    elif isinstance(data, list) and data:
        items = ((str(i), v) for i, v in enumerate(data))
    else:
        return {prefix: data} if prefix else {}
    flat: dict[str, Any] = {}
    for key, value in items:
        flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def differing_keys(configs: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    """Every dotted key whose value is not the same in all configs, with each config's value, in key order."""
    flats = [flatten(c) for c in configs]
    keys = list(dict.fromkeys(k for flat in flats for k in flat))
    table = {k: [flat.get(k, MISSING) for flat in flats] for k in keys}
    return {k: values for k, values in table.items() if any(_differs(values[0], v) for v in values[1:])}


def _differs(a: Any, b: Any) -> bool:
    # 1 == 1.0 is no difference in a config, but True == 1 in Python hides one: a flag is not a number
    return a != b or isinstance(a, bool) != isinstance(b, bool)


def run_metrics(run: Run) -> dict[str, Any]:
    """The figures compared across runs: final epoch, best, test, time."""
    summary = run.summary or {}
    final = final_record(run)
    monitor, value, epoch = best_of(run)
    done, total = epochs_of(run)
    test = summary.get("test") if isinstance(summary.get("test"), dict) else {}
    metrics: dict[str, Any] = {"status": run.listed_status, "epochs_run": done, "epochs": total}
    metrics.update({f"final.{k}": as_number(final.get(k)) for k in METRIC_KEYS})
    metrics.update({"best_epoch": epoch, f"best.{monitor}": value})
    metrics.update({f"test.{k}": as_number(v) for k, v in test.items()})
    metrics["wall_time_s"] = as_number(summary.get("wall_time_s"))
    return metrics


def compare_runs(runs: Sequence[Run]) -> dict[str, Any]:
    """Differing config keys and every run's metrics, as JSON-able data (lists in the order of `runs`)."""
    per_run = [run_metrics(run) for run in runs]
    metric_keys = list(dict.fromkeys(k for m in per_run for k in m))
    differences = differing_keys([run.config for run in runs])
    shared = len({k for run in runs for k in flatten(run.config)}) - len(differences)
    return {
        "runs": [
            {"run": run.dir_name, "path": str(run.path), "name": run.name, "problems": run.problems} for run in runs
        ],
        "differences": differences,
        "identical_keys": shared,
        "metrics": {k: [m.get(k) for m in per_run] for k in metric_keys},
    }


def better(metric: str) -> str | None:
    """ "max" for accuracies, "min" for losses and times, None for what has no better (status, epochs)."""
    if "accuracy" in metric:
        return "max"
    if "loss" in metric or metric == "wall_time_s":
        return "min"
    return None
