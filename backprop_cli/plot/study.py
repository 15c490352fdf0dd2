"""Pictures of a sweep: parallel coordinates of its parameters against the metric; for successive
halving, each trial's curve with its rungs' cut-offs; `importance`, each parameter's share of the
metric's variance (an estimate: see many/importance.py)."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from backprop_cli.errors import UserError
from backprop_cli.plot.curves import _matplotlib, image_format, render
from backprop_cli.runs.atomic import atomic_write_bytes

VIEWS = ("parallel", "importance")


def write_study_plot(directory: Path, output: Path | None, view: str | None) -> tuple[Path, list[str]]:
    """Draw the sweep at `directory`; (the image written, lines worth saying on stderr)."""
    from backprop_cli.many.study import open_study, results_files

    plan = open_study(directory)
    if plan.kind != "sweep":
        raise UserError(
            f"{directory} is a cv directory: its folds are runs", fix="plot them: backprop plot FOLD_RUN ..."
        )
    rows = results_files(Path(directory), plan).read()
    if not any(r.get(plan.metric) is not None for r in rows):
        raise UserError(
            f"no trial of {directory} has produced {plan.metric} yet", fix="plot it once trials have finished"
        )
    view = view or "parallel"
    path = Path(output) if output is not None else Path(directory) / f"{view}.png"
    fmt = image_format(path)
    if view == "importance":
        fig, notes = _importance_figure(plan, rows)
    else:
        fig, notes = _parallel_figure(plan, rows), []
    atomic_write_bytes(Path(os.path.realpath(path)) if path.is_symlink() else path, render(fig, fmt))
    return path, notes


# ---- parallel coordinates ------------------------------------------------------------------------
def _parallel_figure(plan, rows: list[dict[str, Any]]):
    Figure, _, _, colormaps = _matplotlib()
    halving = plan.schedule is not None
    fig = Figure(figsize=(11, 8.5 if halving else 4.8), layout="constrained")
    axes = fig.subplots(2 if halving else 1, 1, squeeze=False)[:, 0]
    scored = [r for r in rows if r.get(plan.metric) is not None]
    colour = _colour_by(scored, plan.metric, plan.mode, colormaps["viridis"])
    _parallel(axes[0], plan, scored, colour)
    if halving:
        _rung_curves(axes[1], plan, scored, colour)
    failed = len(rows) - len(scored)
    fig.suptitle(f"{len(scored)} trial(s) by {plan.metric}" + (f"; {failed} without it (failed)" if failed else ""))
    return fig


def _colour_by(rows, metric: str, mode: str, cmap):
    """Trial -> colour: the best bright, the worst dark."""
    values = [r[metric] for r in rows]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return {r["trial"]: cmap((r[metric] - low) / span if mode == "max" else (high - r[metric]) / span) for r in rows}


def _parallel(ax, plan, rows, colour) -> None:
    keys = [*plan.parameter_keys, plan.metric]
    scales = [_Scale([r["parameters"].get(k) if k != plan.metric else r[k] for r in rows]) for k in keys]
    best_last = sorted(rows, key=lambda r: colour[r["trial"]])  # the best drawn on top
    for row in best_last:
        ys = [scale(row["parameters"].get(k) if k != plan.metric else row[k]) for k, scale in zip(keys, scales)]
        ax.plot(range(len(keys)), ys, color=colour[row["trial"]], alpha=0.8, linewidth=1.2)
    for i, scale in enumerate(scales):
        ax.axvline(i, color="black", linewidth=0.8)
        for y, label in scale.ticks:
            ax.text(i, y, f" {label}", fontsize=7, va="center")
    ax.set_xticks(range(len(keys)), keys, fontsize=8)
    ax.set_yticks([])
    ax.set_xlim(-0.1, len(keys) - 0.6)
    ax.set_title("parameters against the metric (bright: best)", fontsize=10)


class _Scale:
    """A value -> [0, 1] on its axis: log for positive numbers spanning two decades, linear for other
    numbers, evenly spaced levels for anything else (names, booleans, mixed)."""

    def __init__(self, values: list[Any]):
        numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        self.numeric = len(numbers) == len(values) and len(set(numbers)) > 1
        if self.numeric:
            self.log = min(numbers) > 0 and max(numbers) / min(numbers) >= 100
            self.low, self.high = self._f(min(numbers)), self._f(max(numbers))
            self.ticks = [(self(v), f"{v:.3g}") for v in (min(numbers), max(numbers))]
        else:
            self.levels = sorted({repr(v) for v in values})
            self.ticks = [(self._level(i), level) for i, level in enumerate(self.levels)]

    def _f(self, value: float) -> float:
        return math.log10(value) if self.log else float(value)

    def _level(self, i: int) -> float:
        return i / (len(self.levels) - 1) if len(self.levels) > 1 else 0.5

    def __call__(self, value: Any) -> float:
        if self.numeric:
            return (self._f(value) - self.low) / ((self.high - self.low) or 1.0)
        return self._level(self.levels.index(repr(value)))


# ---- successive halving's curves -----------------------------------------------------------------
def _rung_curves(ax, plan, rows, colour) -> None:
    from backprop_cli.many.halving import rung_epochs
    from backprop_cli.runs.listing import as_number
    from backprop_cli.runs.metrics_log import read_metrics

    s = plan.schedule
    for row in sorted(rows, key=lambda r: colour[r["trial"]]):
        runs = row.get("repeats") or row.get("folds")  # several runs: the first one's curve
        run = Path((runs[0] if runs else row).get("run_dir") or "")
        records = read_metrics(run / "metrics.jsonl") if (run / "metrics.jsonl").is_file() else []
        points = [(r["epoch"], as_number(r.get(plan.metric))) for r in records if isinstance(r.get("epoch"), int)]
        points = [(e, v) for e, v in points if v is not None]
        if points:
            ax.plot(*zip(*points), color=colour[row["trial"]], linewidth=1.0, marker=".", markersize=3)
    for epochs in rung_epochs(s.min_epochs, s.max_epochs, s.reduction_factor)[:-1]:
        ax.axvline(epochs, color="grey", linestyle=":", linewidth=1)
        ax.text(epochs, 1.0, f" rung cut at {epochs}", transform=ax.get_xaxis_transform(), fontsize=7, va="top")
    ax.set_xlabel("epoch")
    ax.set_ylabel(plan.metric)
    ax.set_title("each trial's curve; the dotted lines are the rungs where the others stopped", fontsize=10)


# ---- importance ----------------------------------------------------------------------------------
def _importance_figure(plan, rows: list[dict[str, Any]]):
    from backprop_cli.many.importance import importance

    Figure, _, _, _ = _matplotlib()
    method, shares = importance(_comparable(plan, rows), _spaces(plan, rows), plan.metric)
    keys = sorted(shares, key=shares.get)
    fig = Figure(figsize=(8, 0.6 * len(keys) + 1.6), layout="constrained")
    ax = fig.subplots()
    ax.barh(keys, [shares[k] for k in keys], color="tab:blue")
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"share of the variance of {plan.metric} (an estimate)")
    ax.set_title(f"parameter importance: {method}", fontsize=10)
    notes = [f"importance ({method}, an estimate): " + ", ".join(f"{k} {shares[k]:.2f}" for k in reversed(keys))]
    return fig, notes


def _spaces(plan, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Each parameter's space as the sweep file gave it; a plan without the file: the values seen."""
    if plan.sweep and plan.sweep.get("parameters"):
        return plan.sweep["parameters"]
    seen: dict[str, list[Any]] = {k: [] for k in plan.parameter_keys}
    for row in rows:
        for key, values in seen.items():
            if row["parameters"].get(key) not in values:
                values.append(row["parameters"].get(key))
    return seen


def _comparable(plan, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows whose figures come from the same number of epochs: with successive halving, every trial's
    first rung."""
    if plan.schedule is None:
        return rows
    return [{**r, plan.metric: (r.get("rungs") or [{}])[0].get(plan.metric)} for r in rows]
