"""`backprop gradcheck`: every layer's backward against finite differences, as a table or one JSON object."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from backprop_cli.cli.options import FiniteFloat
from backprop_cli.limits import TOLERANCE_RANGE

TOLERANCE = FiniteFloat(*TOLERANCE_RANGE)

VERDICT_STYLE = {"ok": "green", "noise": "yellow", "FAIL": "bold red"}


def gradcheck(
    config: Annotated[Path, typer.Argument(metavar="CONFIG", help="Experiment YAML file.")],
    set_: Annotated[
        Optional[list[str]], typer.Option("--set", metavar="KEY=VALUE", help="Override a key: model.layers.0.units=8")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    samples: Annotated[
        int, typer.Option("--samples", metavar="N", min=0, help="Coordinates checked per tensor (0: all).")
    ] = 64,
    rows: Annotated[
        Optional[int],
        typer.Option("--rows", metavar="N", min=1, max=4096, help="Rows of training data in the batch [default: 8]."),
    ] = None,
    tolerance: Annotated[
        float, typer.Option("--tolerance", metavar="X", parser=TOLERANCE, help="Largest relative error that passes.")
    ] = 1e-6,
) -> None:
    """Check every gradient of CONFIG's network against central differences in float64; exit 1 if one fails."""
    from backprop_cli.cli.options import cap_threads

    cap_threads(1)  # batches of a few rows: BLAS threads would only wait on each other
    from backprop_cli.config.load import load_config
    from backprop_cli.diagnostics.gradcheck import DEFAULT_ROWS, failure_hint, run_gradcheck
    from backprop_cli.errors import RunError
    from backprop_cli.runs.jsonio import dumps

    loaded = load_config(config, set_ or [])
    asked = rows if rows is not None else DEFAULT_ROWS
    report = run_gradcheck(loaded.config, samples=samples or None, rows=asked, tolerance=tolerance)
    if as_json:
        print(dumps(report.to_dict()))
    else:
        _print_table(report)
    if rows is not None and report.rows_in_batch < rows:  # asked for more than there is: say so
        print(f"note: --rows {rows}: the training split has only {report.rows_in_batch} rows; checked on all of them",
              file=sys.stderr)  # fmt: skip
    if not report.passed:
        names = ", ".join(e.name for e in report.failed)
        raise RunError(f"gradient check failed for {names}", fix=failure_hint(report))


def _print_table(report) -> None:
    from rich.console import Console
    from rich.table import Table

    from backprop_cli.cli.output import NARROW

    console = Console()
    wide = console.width >= NARROW  # narrower: no shape, type and absolute-error columns
    columns = ("layer", "type", "tensor", "shape", "checked", "max abs error", "max rel error", "verdict")
    if not wide:
        columns = ("layer", "tensor", "checked", "max rel error", "verdict")
    table = Table(title=f"gradcheck {report.config_name}: float64, {report.rows_in_batch} rows, loss {report.loss:.4g}")
    for column in columns:
        table.add_column(column, justify="right" if column.startswith(("checked", "max")) else "left")
    for e in report.entries:
        cells = {
            "layer": e.layer if wide else f"{e.layer} {e.layer_type}",
            "type": e.layer_type,
            "tensor": ("input (dx)" if wide else "dx") if e.kind == "input" else e.tensor,
            "shape": "x".join(map(str, e.shape)),
            "checked": f"{e.n_checked}" + (f" ({e.n_kinks} kink{'s' * (e.n_kinks > 1)})" if e.n_kinks else ""),
            "max abs error": f"{e.max_abs_error:.1e}",
            "max rel error": f"{e.max_rel_error:.1e}",
            "verdict": f"[{VERDICT_STYLE[e.verdict]}]{e.verdict}[/]",
        }
        table.add_row(*(cells[c] for c in columns), end_section=e.kind == "input")  # a layer's rows end with dx
    console.print(table)
    notes = [f"ok: relative error < {report.tolerance:g}"]
    if any(e.verdict == "noise" for e in report.entries):
        notes.append(f"noise: off by less than rounding explains (absolute error < {report.noise_floor:.1e}), "
                     "as for vanishing or exactly-zero gradients")  # fmt: skip
    if any(e.n_kinks for e in report.entries):
        notes.append("kink: coordinates next to a relu kink or a max-pooling tie, left out of the errors")
    console.print("; ".join(notes), style="dim", highlight=False)
    console.print(verdict_line(report), highlight=False)


def verdict_line(report) -> str:
    """One closing line: every gradient ok (with the largest error), or how many failed and which."""
    worst = max((e.max_rel_error for e in report.entries), default=0.0)
    n = len(report.entries)
    if report.passed:
        noise = sum(e.verdict == "noise" for e in report.entries)
        how = (
            f"{n - noise} ok, {noise} noise" if noise else f"largest relative error {worst:.1e} < {report.tolerance:g}"
        )
        return f"verdict: all {n} gradients pass ({how})"
    failed = report.failed
    return f"verdict: {len(failed)} of {n} gradients FAIL: {', '.join(e.name for e in failed)}"
