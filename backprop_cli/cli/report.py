"""`backprop report RUN -o report.html`: one self-contained page of a run; prints the path written."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def report(
    run: Annotated[Path, typer.Argument(metavar="RUN", help="A run directory.")],
    output: Annotated[
        Optional[Path],
        typer.Option("--output", "-o", metavar="FILE", help="The page to write (default RUN/report.html)."),
    ] = None,
) -> None:
    """One HTML page of a run: summary, curves, gradient flow, histograms, confusion and ROC, the explain
    table, warnings, test metrics and config; images inline, nothing fetched, no server."""
    from backprop_cli.report.write import write_report
    from backprop_cli.runs.listing import open_run

    opened = open_run(run)
    print(write_report(lambda: _page(opened), output or opened.path / "report.html"))


def _page(run) -> str:
    from backprop_cli.report.run_report import run_report

    return run_report(run)
