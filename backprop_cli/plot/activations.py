"""`--view activations`: what flows through each layer at one sampled step, all layers overlaid (as in
Karpathy's makemore lectures): histograms of activations y, of their gradients dL/dy and of the
pre-activations z, each layer's dead or saturated fraction in the legend; and the update:data ratio
|Δθ|/|θ| of each layer over training, with the 1e-3 guide line.

Histograms come from the run's histograms.jsonl (train/histogram_log.py), the fractions and ratios from
the gradient monitor's statistics in metrics.jsonl, taken at the same steps.
"""

from __future__ import annotations

import math

import numpy as np

from backprop_cli.diagnostics.histograms import edges
from backprop_cli.errors import UserError
from backprop_cli.plot.curves import _layer_label, _layer_order
from backprop_cli.plot.figure import colormap, new_figure
from backprop_cli.plot.rundata import RunView
from backprop_cli.runs.histogram_log import read_histograms

GUIDE_RATIO = 1e-3  # Karpathy's rule of thumb: updates about a thousandth of the weights
PANELS = (("y", "activations y"), ("dy", "gradients dL/dy"), ("z", "pre-activations z"))


def pick_sample(view: RunView, epoch: str | None) -> dict:
    """The histogram sample of `epoch` ("last", a number; default: the first sample, where init problems show)."""
    samples = read_histograms(view.files.histograms)
    if not samples:
        raise UserError(
            f"{view.run.dir_name} has no activation histograms (histograms.jsonl)",
            where=str(view.path),
            fix="train with diagnostics.monitor and diagnostics.histograms on (the default) to record them",
        )
    if epoch is None:
        return samples[0]
    if epoch == "last":
        return samples[-1]
    found = [s for s in samples if str(s.get("epoch")) == epoch]
    if not found:
        have = sorted({s.get("epoch") for s in samples}, key=str)
        raise UserError(
            f"no histogram sample in epoch {epoch}", where="--epochs", fix=f"choose one of {have} or 'last'"
        )
    return found[-1]  # the epoch's last step: the one its metrics line describes


def activations_figure(view: RunView, sample: dict):
    layers = sorted(sample["layers"], key=_layer_order)
    stats = _stats_at(view, sample)
    cmap = colormap("viridis")
    fig = new_figure(
        14, 9.5, f"Activations and gradients of {view.run.name} at step {sample['step']} (epoch {sample['epoch']})"
    )
    grid = fig.add_gridspec(2, 2)
    for i, (key, title) in enumerate(PANELS):
        ax = fig.add_subplot(grid[i // 2, i % 2])
        peaks = []
        for depth, name in enumerate(layers):
            h = sample["layers"][name].get(key)
            if not h or not h["counts"]:
                continue
            bins, density = edges(h), _density(h)
            color = cmap(0.9 * depth / max(len(layers) - 1, 1))
            label = f"{_legend(view, name, stats.get(name), key)}, std {_std(h):.2g}"
            ax.stairs(density, bins, color=color, label=label)
            peaks.append(density.max())
        _decorate(ax, title, key, peaks)
    _draw_update_ratio(fig.add_subplot(grid[1, 1]), view, layers)
    return fig


def _density(h: dict) -> np.ndarray:
    counts = np.asarray(h["counts"], dtype=np.float64)
    return counts / max(counts.sum(), 1) / np.maximum(np.diff(edges(h)), 1e-300)


def _std(h: dict) -> float:
    """The standard deviation of the histogrammed values, from its bin centres."""
    bins, counts = edges(h), np.asarray(h["counts"], dtype=np.float64)
    centres = (bins[:-1] + bins[1:]) / 2
    mean = np.average(centres, weights=counts) if counts.sum() else 0.0
    return float(np.sqrt(np.average((centres - mean) ** 2, weights=counts))) if counts.sum() else 0.0


def _decorate(ax, title: str, key: str, peaks: list[float]) -> None:
    ax.set_title(title)
    ax.set_xlabel(key)
    log = bool(peaks) and max(peaks) > 100 * min(peaks)  # widths that differ by decades: a narrow one hides the rest
    ax.set_ylabel("density (log scale)" if log else "density")
    if log:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    if peaks:
        ax.legend(fontsize="x-small")
    else:
        ax.text(0.5, 0.5, f"no layer recorded {key}", ha="center", va="center", transform=ax.transAxes)


def _stats_at(view: RunView, sample: dict) -> dict:
    """The monitor's per-layer statistics taken at the sample's step (an epoch's line, or a per-step sample)."""
    for record in view.run.metrics:
        if record.get("step") == sample["step"] and isinstance(record.get("layers"), dict):
            return record["layers"]
        for by_step in record.get("layers_by_step") or []:
            if isinstance(by_step, dict) and by_step.get("step") == sample["step"]:
                return by_step.get("layers") or {}
    return {}


def _legend(view: RunView, name: str, stats: dict | None, key: str) -> str:
    label = _layer_label(view.run, name)
    if key == "y" and isinstance(stats, dict):
        for stat, word in (("dead_fraction", "dead"), ("saturated_fraction", "saturated")):
            if isinstance(stats.get(stat), (int, float)):
                return f"{label}: {word} {100 * stats[stat]:.0f}%"
    return label


def _draw_update_ratio(ax, view: RunView, layers: list[str]) -> None:
    cmap = colormap("viridis")
    for depth, name in enumerate(layers):
        steps, ratios = [], []
        for record in view.run.metrics:
            for entry in [*(record.get("layers_by_step") or []), record]:
                value = (
                    ((entry.get("layers") or {}).get(name) or {}).get("update_ratio")
                    if isinstance(entry, dict)
                    else None
                )
                if isinstance(value, (int, float)) and value > 0 and math.isfinite(value):
                    steps.append(entry["step"])
                    ratios.append(value)
        if steps:
            order = np.argsort(steps)
            color = cmap(0.9 * depth / max(len(layers) - 1, 1))
            ax.plot(
                np.asarray(steps)[order], np.asarray(ratios)[order], color=color, label=_layer_label(view.run, name)
            )
    ax.axhline(GUIDE_RATIO, color="black", linestyle="--", linewidth=1, label="1e-3 guide")
    ax.set_yscale("log")
    ax.set_title("update:data ratio |Δθ| / |θ| per layer")
    ax.set_xlabel("step")
    ax.set_ylabel("update ratio (log scale)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="x-small")
