"""What every picture shares: a titled matplotlib Figure on an Agg canvas, written atomically by suffix."""

from __future__ import annotations

import os
from pathlib import Path

from backprop_cli.plot.curves import _matplotlib, image_format, render
from backprop_cli.runs.atomic import atomic_write_bytes


def new_figure(width: float, height: float, title: str):
    """A Figure (constrained layout) with its suptitle, drawn off-screen."""
    Figure, FigureCanvasAgg, _, _ = _matplotlib()
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    fig.suptitle(title, fontsize="large")
    return fig


def colormap(name: str):
    return _matplotlib()[3][name]


def save_figure(fig, path: str | os.PathLike[str]) -> Path:
    """Write `fig` as the image its suffix asks for (.png, .svg, .pdf); onto a symlink, its target."""
    path = Path(path)
    fmt = image_format(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    atomic_write_bytes(target, render(fig, fmt))
    return path
