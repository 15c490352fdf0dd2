"""`backprop lr-find`: the learning-rate range test and a suggested rate; nothing is written but the plot."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from backprop_cli.cli.options import FiniteFloat
from backprop_cli.cli.sections import Block, load_located, print_blocks
from backprop_cli.limits import LR_RANGE

LR = FiniteFloat(*LR_RANGE)

REPORT_EVERY = 25  # steps between progress lines on stderr
STOPPED = {
    "end": "ran all steps",
    "blew_up": "the smoothed loss passed 4× its minimum",
    "diverged": "the loss became non-finite",
    "interrupted": "interrupted (Ctrl-C): what was seen so far",
}


def lr_find(
    config: Annotated[Path, typer.Argument(help="Experiment YAML file.")],
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a key: optimizer.type=sgd")] = None,
    start: Annotated[float, typer.Option("--start", parser=LR, help="The first learning rate.")] = 1e-7,
    end: Annotated[float, typer.Option("--end", parser=LR, help="The last learning rate.")] = 10.0,
    steps: Annotated[int, typer.Option("--steps", min=5, max=1_000_000, help="Training steps at most.")] = 200,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Save the loss-vs-lr plot (PNG).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """The learning-rate range test on a copy of CONFIG and a suggested rate; writes no run and no weights."""
    from backprop_cli.runs.jsonio import dumps
    from backprop_cli.teach.lr_find import lr_range_test, save_lr_plot

    if output is not None:
        from backprop_cli.plot.curves import _matplotlib, image_format

        image_format(output)  # a bad -o, or no matplotlib to draw it, fails now, not after the test
        _matplotlib()
    cfg, result = load_located(
        config, set_, lambda c: lr_range_test(c, start=start, end=end, steps=steps, progress=_report)
    )
    if output is not None and result.lrs:
        save_lr_plot(result, output)
    summary = {**result.to_dict(), "configured_lr": cfg.optimizer.lr, "plot": str(output) if output else None}
    if as_json:
        print(dumps(summary))
    else:
        print_blocks([Block(f"lr-find {cfg.name}", _lines(summary))])
    if result.stopped == "interrupted":
        sys.exit(130)


def _report(result, smoothed: float) -> None:
    k = len(result.losses)
    if k % REPORT_EVERY == 0:
        print(f"step {k}/{result.steps} lr={result.lrs[-1]:.3g} loss={smoothed:.4g}", file=sys.stderr)


def _lines(s: dict) -> list[str]:
    lines = [f"{len(s['lrs'])} steps, lr from {s['start']:g} to {s['end']:g}: {STOPPED[s['stopped']]}"]
    if s["suggested"] is None:
        lines.append(f"no suggestion: {s['no_suggestion'] or 'the loss never fell past its first steps'}")
    else:
        lines.append(f"suggested lr   {s['suggested']:.2g}   (where the smoothed loss falls fastest)")
        lines.append(f"minimum / 10   {s['min_over_10']:.2g}   (the rate of the lowest smoothed loss, divided by 10)")
    lines.append(f"configured lr  {s['configured_lr']:g}   (optimizer.lr)")
    lines += ["", "smoothed loss by decade of lr:"]
    lines += [f"  lr {lr:9.2g}   loss {loss:.4g}" for lr, loss in _by_decade(s["lrs"], s["smoothed"])]
    if s["plot"]:
        lines.append(f"plot: {s['plot']}")
    return lines


def _by_decade(lrs: list[float], smoothed: list[float]) -> list[tuple[float, float]]:
    """The first point of each decade of lr, and the last point."""
    seen, points = set(), []
    for lr, loss in zip(lrs, smoothed):
        decade = math.floor(math.log10(lr))
        if decade not in seen:
            seen.add(decade)
            points.append((lr, loss))
    if lrs and points[-1][0] != lrs[-1]:
        points.append((lrs[-1], smoothed[-1]))
    return points
