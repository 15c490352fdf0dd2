"""Gradient flow over time: for each recurrent layer, |dL/dh_t| at its first, middle and last step per epoch.

Drawn below the per-layer panels of `backprop plot` for runs whose metrics.jsonl has `time_grad_norm`
(rnn, lstm, gru layers). On a log scale a simple RNN shows the first step's norm decades below the
last step's (the gradient vanishes over time), an LSTM or GRU keeps them close.
"""

from __future__ import annotations

import math

from backprop_cli.runs.listing import Run, as_number

STEPS = ("last", "middle", "first")  # the order of the legend: where the gradient starts, then back in time
STYLES = {"last": "-", "middle": "--", "first": ":"}


def time_series(run: Run) -> dict[str, dict[str, tuple[list[float], list[float]]]]:
    """{layer: {step: (epochs, norms)}} for the layers that report time_grad_norm."""
    out: dict[str, dict[str, tuple[list[float], list[float]]]] = {}
    for i, record in enumerate(run.metrics):
        layers = record.get("layers")
        if not isinstance(layers, dict):
            continue
        for name, stats in layers.items():
            norms = stats.get("time_grad_norm") if isinstance(stats, dict) else None
            if not isinstance(norms, dict):
                continue
            for step in STEPS:
                value = as_number(norms.get(step))
                xs, ys = out.setdefault(name, {}).setdefault(step, ([], []))
                xs.append(float(record.get("epoch", i + 1)))
                ys.append(value if value is not None and value > 0 else math.nan)  # a log axis cannot show 0
    return out


def draw_time(ax, run: Run, label: str) -> None:
    """One line per (layer, step): solid last, dashed middle, dotted first; one colour per layer."""
    for j, (name, steps) in enumerate(time_series(run).items()):
        for step in STEPS:
            if step in steps:
                xs, ys = steps[step]
                ax.plot(
                    xs,
                    ys,
                    STYLES[step],
                    color=f"C{j % 10}",
                    label=f"layer {name}: {step} step",
                    marker="o",
                    markersize=3,
                )
    ax.set_title(f"Gradient over time in {label}: |dL/dh_t| at the first, middle and last step")
    ax.set_xlabel("epoch")
    ax.set_ylabel("gradient norm (log scale)")
    ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small")
