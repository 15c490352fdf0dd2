"""`backprop check CONFIG`: the training recipe's checks with verdicts; exit 0 when all pass, 1 when one fails."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

VERDICT_STYLE = {"pass": "green", "fail": "bold red", "skip": "dim"}


def check(
    config: Annotated[Path, typer.Argument(metavar="CONFIG", help="Experiment YAML file.")],
    set_: Annotated[
        Optional[list[str]], typer.Option("--set", metavar="KEY=VALUE", help="Override a key: model.layers.0.units=8")
    ] = None,
    steps: Annotated[
        int, typer.Option("--steps", metavar="N", min=1, max=100_000, help="Steps to overfit one batch.")
    ] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Check CONFIG before a long run: initial loss, overfitting one batch, zeroed inputs, shuffled labels,
    the data's balance, duplicates, constant and leaking columns, and the gradients."""
    from backprop_cli.cli.options import cap_threads

    cap_threads(1)  # small batches: BLAS threads would only wait on each other
    from backprop_cli.checkup.run import failed, run_checkup
    from backprop_cli.cli.sections import load_located
    from backprop_cli.runs.jsonio import dumps

    progress = None if as_json else (lambda name: print(f"checking {name} …", file=sys.stderr))
    cfg, findings = load_located(config, set_, lambda c: run_checkup(c, steps=steps, progress=progress))
    if as_json:
        print(dumps({"config": cfg.name, "passed": not failed(findings), "checks": [f.to_dict() for f in findings]}))
    else:
        _print_table(cfg.name, findings)
    if failed(findings):
        sys.exit(1)


def _print_table(name: str, findings) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"check {name}", title_justify="left")
    for column in ("check", "measured", "expected", "verdict", "fix"):
        table.add_column(column, overflow="fold")
    for f in findings:
        table.add_row(Text(f.check), Text(f.measured), Text(f.expected),
                      Text(f.verdict, style=VERDICT_STYLE[f.verdict]), Text(f.fix))  # fmt: skip
    Console(width=None if sys.stdout.isatty() else 160).print(table)
