"""`backprop plot RUN [RUN ...]`: learning curves and gradient flow as an image; prints the path written.
`backprop plot RUN --view NAME`: one of the pictures of plot/views.py instead.

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
        typer.Option(
            "--view",
            metavar="NAME",
            help="One picture of one run: boundary, activations, filters, feature-maps, attention, confusion, roc, pr; "
            "of a sweep directory: parallel (default) or importance.",
        ),
    ] = None,
    epochs: Annotated[
        Optional[str],
        typer.Option(
            "--epochs",
            metavar="LIST",
            help="boundary: frames at these epochs (1,5,20,best); activations: the sample of one epoch.",
        ),
    ] = None,
    gif: Annotated[
        bool, typer.Option("--gif", help="boundary: an animation over the kept epochs (-o FILE.gif).")
    ] = False,
    prompt: Annotated[
        Optional[str], typer.Option("--prompt", metavar="TEXT", help="attention: the text to read.")
    ] = None,
    index: Annotated[int, typer.Option("--index", min=0, help="feature-maps: which example of the scored split.")] = 0,
) -> None:
    """Learning curves (loss, accuracy, lr) and per-layer gradient norms of one or more runs, in one image;
    with --view, one of the pictures a learner looks at; a sweep directory: parallel coordinates of its trials
    (rung curves for successive halving)."""
    from backprop_cli.runs.studydir import study_kind

    if len(runs) == 1 and study_kind(runs[0]) is not None:
        _plot_study(runs[0], output, view)
        return
    if view is not None:
        print(_one_view(runs, view, output, metric, epochs, gif, prompt, index))
        return
    from backprop_cli.plot.curves import runs_without_layer_stats, write_plot
    from backprop_cli.runs.listing import open_run

    opened = [open_run(run) for run in runs]
    print(write_plot(opened, output, metric))
    for run in opened:
        if run.problems:  # drawn with what could be read
            print(f"note: {run.dir_name} is damaged: {run.problems[0]}", file=sys.stderr)
    bare = runs_without_layer_stats(opened) if metric is None else []
    if bare:
        names = ", ".join(run.dir_name for run in bare)
        print(f"note: no per-layer gradient norms in {names}: no gradient-flow panel for it", file=sys.stderr)


def _one_view(runs, view, output, metric, epochs, gif, prompt, index):
    from backprop_cli.config.names import closest
    from backprop_cli.errors import UserError
    from backprop_cli.plot.study import VIEWS as STUDY_VIEWS
    from backprop_cli.plot.views import VIEWS, ViewOptions, write_view

    if view not in VIEWS:
        close = closest(view, list(VIEWS))
        fix = f"did you mean {close!r}?" if close else "choose one of: " + ", ".join(VIEWS)
        if view in STUDY_VIEWS:
            fix = f"{view} is a view of a sweep directory; a run's views are " + ", ".join(VIEWS)
        raise UserError(f"unknown view {view!r} for a run", where="--view", fix=fix)
    if len(runs) != 1:
        raise UserError(f"--view draws one run, not {len(runs)}", where="--view", fix="give one RUN")
    if metric is not None:
        raise UserError("--metric is for learning curves, not --view", where="--metric", fix="drop one of them")
    return write_view(runs[0], view, output, ViewOptions(epochs=epochs, gif=gif, prompt=prompt, index=index))


def _plot_study(directory: Path, output: Path | None, view: str | None) -> None:
    from backprop_cli.errors import UserError
    from backprop_cli.plot.study import VIEWS, write_study_plot

    if view is not None and view not in VIEWS:
        raise UserError(f"unknown view {view!r} for a sweep", where="--view", fix=f"choose one of {', '.join(VIEWS)}")
    path, notes = write_study_plot(directory, output, view)
    print(path)
    for note in notes:
        print(note, file=sys.stderr)
