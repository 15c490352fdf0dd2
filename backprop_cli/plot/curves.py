"""Learning curves and gradient flow as one figure, drawn with matplotlib's Agg canvas (no pyplot, no display).

Layout of the default figure: a top row of curves on shared epoch axes, one line per run (train
solid, validation dashed): loss, accuracy (when any run has it), learning rate; below it one
gradient-flow panel per run: every layer's gradient norm over the epochs on a log scale, coloured
from the input (dark) to the output (light), the global norm in black. `metric` draws one
metric instead: a top-level key of metrics.jsonl, "loss"/"accuracy" (train and val), or
"layers.<stat>" (one panel per run, one line per layer).

matplotlib is an optional extra: it is imported inside the functions, and its absence is a UserError.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from backprop_cli.config.names import closest
from backprop_cli.errors import UserError
from backprop_cli.outputpath import check_output_file
from backprop_cli.plot.time_flow import draw_time, time_series
from backprop_cli.runs.describe import spans_decades
from backprop_cli.runs.listing import Run, as_number, best_of, get_path

NEEDS_MATPLOTLIB = "plotting needs matplotlib: pip install 'backprop-cli[plot]'"
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
PAIRS = {"loss": ("train_loss", "val_loss"), "accuracy": ("train_accuracy", "val_accuracy")}
NOT_METRICS = ("epoch", "layers", "warnings")
LAYER_STATS = ("grad_norm", "weight_norm", "update_ratio", "dead_fraction", "saturated_fraction")
DPI = 100


def _matplotlib():
    """(Figure, FigureCanvasAgg, MaxNLocator, colormaps), or the install hint."""
    try:
        from matplotlib import colormaps
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError as err:
        raise UserError(NEEDS_MATPLOTLIB) from err
    return Figure, FigureCanvasAgg, MaxNLocator, colormaps


# ---- what there is to plot -------------------------------------------------------------------------
def _series(run: Run, key: str) -> tuple[list[float], list[float]]:
    """(epochs, values) of a top-level metric; a missing value is NaN, which matplotlib draws as a gap."""
    xs = [float(r.get("epoch", i + 1)) for i, r in enumerate(run.metrics)]
    ys = [_float(r.get(key)) for r in run.metrics]
    return xs, ys


def _layer_series(run: Run, stat: str) -> dict[str, tuple[list[float], list[float]]]:
    """Per layer name, (epochs, values) of one statistic under `layers`, layers in network order."""
    names = {name for r in run.metrics if isinstance(r.get("layers"), dict) for name in r["layers"]}
    out = {}
    for name in sorted(names, key=_layer_order):
        xs, ys = [], []
        for i, r in enumerate(run.metrics):
            stats = (r.get("layers") or {}).get(name)
            xs.append(float(r.get("epoch", i + 1)))
            ys.append(_float(stats.get(stat)) if isinstance(stats, dict) else math.nan)
        if any(not math.isnan(y) for y in ys):
            out[name] = (xs, ys)
    return out


def _layer_order(name: str) -> tuple:
    return tuple((0, int(p), "") if p.isdecimal() else (1, 0, p) for p in name.split("."))


def _float(value: Any) -> float:
    number = as_number(value)
    return math.nan if number is None else number


def _has(run: Run, key: str) -> bool:
    return any(as_number(r.get(key)) is not None for r in run.metrics)


def available_metrics(runs: Sequence[Run]) -> list[str]:
    """Every name `metric` accepts for these runs."""
    top = {k for run in runs for r in run.metrics for k, v in r.items() if as_number(v) is not None}
    top -= set(NOT_METRICS)
    pairs = [name for name, keys in PAIRS.items() if top & set(keys)]
    stats = [f"layers.{s}" for s in _stats_present(runs)]
    return pairs + sorted(top) + stats


def _stats_present(runs: Sequence[Run]) -> list[str]:
    found = {
        stat
        for run in runs
        for r in run.metrics
        if isinstance(r.get("layers"), dict)
        for stats in r["layers"].values()
        if isinstance(stats, dict)
        for stat, value in stats.items()
        if as_number(value) is not None
    }
    return [s for s in LAYER_STATS if s in found] + sorted(found - set(LAYER_STATS))


def _check_metric(runs: Sequence[Run], metric: str) -> str:
    """The metric as plotted ("dead_fraction" alone means "layers.dead_fraction"); UserError if absent."""
    known = available_metrics(runs)
    if metric in known:
        return metric
    if f"layers.{metric}" in known:
        return f"layers.{metric}"
    close = closest(metric, known)
    hint = f"did you mean {close!r}?" if close else "choose one of: " + ", ".join(known or ["(none yet)"])
    raise UserError(f"no run has a metric {metric!r}", where="--metric", fix=hint)


def runs_without_layer_stats(runs: Sequence[Run], stat: str = "grad_norm") -> list[Run]:
    """The runs whose metrics carry no per-layer `stat`: they get no gradient-flow panel."""
    return [run for run in runs if not _layer_series(run, stat)]


def _labels(runs: Sequence[Run]) -> list[str]:
    """The config names when they tell the runs apart, else the directory names."""
    names = [run.name for run in runs]
    return names if len(set(names)) == len(names) else [run.dir_name for run in runs]


def _log_scale(name: str) -> bool:
    return name.endswith("norm") or name.endswith("ratio")


# ---- drawing ---------------------------------------------------------------------------------------
def build_figure(runs: Sequence[Run], metric: str | None = None):
    """The matplotlib Figure (on an Agg canvas) for `runs`; UserError when there is nothing to draw."""
    Figure, FigureCanvasAgg, _, _ = _matplotlib()
    if not any(run.metrics for run in runs):
        raise UserError(
            "no epoch has finished yet in " + ", ".join(run.dir_name for run in runs),
            fix="plot again once metrics.jsonl has a line",
        )
    labels = _labels(runs)
    if metric is not None:
        metric = _check_metric(runs, metric)
    curves = _curve_panels(runs, metric)
    stat = _flow_stat(metric)
    flow_runs = [(run, label) for run, label in zip(runs, labels) if stat and _layer_series(run, stat)]
    time_runs = [(run, label) for run, label in zip(runs, labels) if metric is None and time_series(run)]
    ncols, rows = max(len(curves), 1), len(flow_runs) + len(time_runs)
    fig = Figure(figsize=(max(5.5 * ncols, 9), 4.2 * bool(curves) + 3.6 * rows), layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(nrows=bool(curves) + rows, ncols=ncols)
    first = None  # every panel shares the epoch axis; the per-layer panels share their y axis too
    for col, (title, keys) in enumerate(curves):
        ax = fig.add_subplot(grid[0, col], sharex=first)
        first = first or ax
        _draw_curves(ax, runs, labels, title, keys)
    first_flow = None
    for row, (run, label) in enumerate(flow_runs, start=bool(curves)):
        ax = fig.add_subplot(grid[row, :], sharex=first, sharey=first_flow)
        first, first_flow = first or ax, first_flow or ax
        _draw_layers(ax, run, label, stat, with_global=metric is None)
    first_time = None  # recurrent layers: the gradient reaching the first, middle and last step
    for row, (run, label) in enumerate(time_runs, start=bool(curves) + len(flow_runs)):
        ax = fig.add_subplot(grid[row, :], sharex=first, sharey=first_time)
        first_time = first_time or ax
        draw_time(ax, run, label)
    fig.suptitle(_title(metric, bool(flow_runs)) + ": " + ", ".join(labels), fontsize="large")
    return fig


def _title(metric: str | None, with_flow: bool) -> str:
    if metric is None:
        return "Learning curves and gradient flow" if with_flow else "Learning curves"
    return _pretty(metric.removeprefix("layers.")) + (" per layer" if metric.startswith("layers.") else "")


def _pretty(name: str) -> str:
    """ "val_loss" -> "val loss", "lr" -> "learning rate", for titles and axis labels."""
    return "learning rate" if name == "lr" else name.replace("_", " ")


def _flow_stat(metric: str | None) -> str | None:
    """The per-layer statistic drawn below the curves: gradient norms by default."""
    if metric is None:
        return "grad_norm"
    return metric.removeprefix("layers.") if metric.startswith("layers.") else None


def _curve_panels(runs: Sequence[Run], metric: str | None) -> list[tuple[str, tuple[str, ...]]]:
    """(title, metric keys) of each panel of the top row."""
    if metric is not None:
        if metric.startswith("layers."):
            return []
        return [(_pretty(metric), PAIRS.get(metric, (metric,)))]
    panels = [("loss", PAIRS["loss"])]
    if any(_has(run, key) for run in runs for key in PAIRS["accuracy"]):
        panels.append(("accuracy", PAIRS["accuracy"]))
    if any(_has(run, "lr") for run in runs):
        panels.append(("learning rate", ("lr",)))
    return panels


def _draw_curves(ax, runs: Sequence[Run], labels: list[str], title: str, keys: tuple[str, ...]) -> None:
    styles, starred = {"train": "-", "val": "--"}, False
    for i, (run, label) in enumerate(zip(runs, labels)):
        for key in keys:
            xs, ys = _series(run, key)
            if all(math.isnan(y) for y in ys):
                continue
            split = key.split("_", 1)[0]
            suffix = f" {split}" if len(keys) > 1 and split in styles else ""
            ax.plot(xs, ys, styles.get(split, "-"), color=f"C{i % 10}", label=label + suffix, **_markers(xs))
        starred = _mark_best(ax, run, keys, f"C{i % 10}", starred)
    values = [y for line in ax.get_lines() for y in line.get_ydata()]
    log = _log_scale(keys[0]) or ("loss" in title and spans_decades(values))  # a blow-up would flatten the rest
    _decorate(ax, title[0].upper() + title[1:], title, log=log)


def _mark_best(ax, run: Run, keys: tuple[str, ...], color: str, starred: bool) -> bool:
    """A star at the best epoch on the monitored curve, when this panel shows it; True once one is drawn."""
    monitor, value, epoch = best_of(run)
    if monitor not in keys or value is None or epoch is None:
        return starred
    label = "_best" if starred else "best epoch"  # one legend entry for all the stars
    ax.plot([epoch], [value], "*", color=color, markersize=11, markeredgecolor="black", zorder=5, label=label)
    return True


def _draw_layers(ax, run: Run, label: str, stat: str, with_global: bool) -> None:
    _, _, _, colormaps = _matplotlib()
    series = _layer_series(run, stat)
    cmap = colormaps["viridis"]
    for depth, (name, (xs, ys)) in enumerate(series.items()):
        log = _log_scale(stat)
        ys = [y if not log or y > 0 else math.nan for y in ys]  # log axes cannot show 0
        color = cmap(0.9 * depth / max(len(series) - 1, 1))
        ax.plot(xs, ys, color=color, label=_layer_label(run, name), **_markers(xs))
    if with_global and _has(run, "grad_norm"):
        xs, ys = _series(run, "grad_norm")
        ax.plot(xs, ys, "--", color="black", linewidth=1.5, label="global (all layers)")
    if stat == "grad_norm":
        title, ylabel = f"Gradient flow in {label}: gradient norm per layer", "gradient norm"
    else:
        title, ylabel = f"{label}: {_pretty(stat)} per layer", _pretty(stat)
    _decorate(ax, title, ylabel, log=_log_scale(stat), outside=len(series) > 4)
    if stat.endswith("fraction"):
        ax.set_ylim(-0.02, 1.02)


def _layer_label(run: Run, name: str) -> str:
    """Legend label: "layer 3.0 dense relu" is layer 0 of the block at model.layers[3]."""
    spec = get_path(run.config, "model.layers." + name.replace(".", ".layers."))
    kind = spec.get("type") if isinstance(spec, dict) else None
    detail = spec.get("activation") if isinstance(spec, dict) else None
    return " ".join(str(w) for w in (f"layer {name}", kind, detail) if w)


def _markers(xs: Sequence[float]) -> dict:
    return {"marker": "o", "markersize": 3} if len(xs) <= 20 else {}


def _decorate(ax, title: str, ylabel: str, log: bool, outside: bool = False) -> None:
    _, _, MaxNLocator, _ = _matplotlib()
    ax.set_title(title)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel + (" (log scale)" if log else ""))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if log:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        if outside:
            ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small")
        else:
            ax.legend(fontsize="small")


# ---- output ----------------------------------------------------------------------------------------
def default_output(runs: Sequence[Run], metric: str | None = None) -> Path:
    """`<first run>/plot.png`, or `<first run>/plot-<metric>.png` for one metric."""
    return runs[0].path / ("plot.png" if metric is None else f"plot-{metric}.png")


def render(fig, fmt: str = "png") -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=DPI)
    return buffer.getvalue()


def image_format(path: Path) -> str:
    """The format an image path asks for by its suffix, in a directory that exists; else a UserError."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UserError(f"cannot write a {path.suffix or 'suffix-less'} image", where=str(path),
                        fix="name the output FILE.png (or .svg, .pdf)")  # fmt: skip
    check_output_file(path, "plot.png")
    return fmt


def write_plot(runs: Sequence[Run], output: str | os.PathLike[str] | None = None, metric: str | None = None) -> Path:
    """Draw `runs` and write the image atomically (PNG, or SVG/PDF by suffix); returns its path."""
    from backprop_cli.plot.figure import save_figure

    path = Path(output) if output is not None else default_output(runs, metric)
    image_format(path)  # a bad name is refused before the drawing
    return save_figure(build_figure(runs, metric), path)
