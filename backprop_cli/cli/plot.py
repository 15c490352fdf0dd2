"""`backprop plot RUN [RUN ...]`: learning curves and gradient flow as an image; prints the path written.

matplotlib and the library are imported inside the command: importing this module must stay cheap.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer


def plot(
    runs: Annotated[
        list[Path], typer.Argument(metavar="RUN...", help="One or more run directories, drawn on shared axes.")
    ],
    output: Annotated[
        Optional[Path],
        typer.Option(
            "--output", "-o", metavar="FILE", help="Image to write: .png, .svg or .pdf (default: FIRST_RUN/plot.png)."
        ),
    ] = None,
    metric: Annotated[
        Optional[str],
        typer.Option(
            "--metric",
            metavar="NAME",
            help="Draw only this metric: loss, accuracy, val_loss, lr, layers.dead_fraction, ...",
        ),
    ] = None,
    view: Annotated[
        Optional[str],
        typer.Option("--view", metavar="VIEW", help="A sweep directory's view: parallel (default) or importance."),
    ] = None,
) -> None:
    """Learning curves (loss, accuracy, lr) and per-layer gradient norms of one or more runs, in one image;
    a sweep directory: parallel coordinates of its trials (rung curves for successive halving)."""
    from backprop_cli.plot.curves import runs_without_layer_stats, write_plot
    from backprop_cli.runs.listing import open_run
    from backprop_cli.runs.studydir import study_kind

    if len(runs) == 1 and study_kind(runs[0]) is not None:
        _plot_study(runs[0], output, view)
        return
    if view is not None:
        from backprop_cli.errors import UserError

        raise UserError(f"--view {view} applies to a sweep directory", where="--view", fix="drop --view for runs")

    opened = [open_run(run) for run in runs]
    print(write_plot(opened, output, metric))
    for run in opened:
        if run.problems:  # drawn with what could be read
            print(f"note: {run.dir_name} is damaged: {run.problems[0]}", file=sys.stderr)
    bare = runs_without_layer_stats(opened) if metric is None else []
    if bare:
        names = ", ".join(run.dir_name for run in bare)
        print(f"note: no per-layer gradient norms in {names}: no gradient-flow panel for it", file=sys.stderr)


def _plot_study(directory: Path, output: Path | None, view: str | None) -> None:
    from backprop_cli.errors import UserError
    from backprop_cli.plot.study import VIEWS, write_study_plot

    if view is not None and view not in VIEWS:
        raise UserError(f"unknown view {view!r} for a sweep", where="--view", fix=f"choose one of {', '.join(VIEWS)}")
    path, notes = write_study_plot(directory, output, view)
    print(path)
    for note in notes:
        print(note, file=sys.stderr)
