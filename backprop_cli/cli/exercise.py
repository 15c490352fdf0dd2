"""`backprop exercise`: write a layer with its backward blanked; grade the learner's backward against ours."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer


def exercise(
    what: Annotated[
        str,
        typer.Argument(
            metavar="LAYER|check",
            help="dense, relu, sigmoid, batchnorm, layernorm, conv1d, lstm or attention; or `check` to grade FILE.",
        ),
    ],
    file: Annotated[Optional[Path], typer.Argument(metavar="[FILE]", help="check: the exercise file to grade.")] = None,
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", metavar="FILE", help="Where to write the exercise (a new file).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="check: print the grades as one JSON object.")] = False,
) -> None:
    """`exercise LAYER -o FILE` writes LAYER with its backward left to you; `exercise check FILE` grades each
    gradient of it against backprop's own layer (exit 0 only when every one is right)."""
    from backprop_cli.errors import UserError
    from backprop_cli.teach.exercise import EXERCISES

    if what == "check":
        if file is None or output is not None:
            raise UserError("check takes the exercise file to grade", fix="backprop exercise check my_dense.py")
        _check(file, as_json)
        return
    if what not in EXERCISES:
        from backprop_cli.config.names import suggest

        raise UserError(f"there is no exercise {what!r}", where="LAYER", fix=suggest(what, [*EXERCISES, "check"]))
    if output is None or file is not None:
        raise UserError("give the file to write with -o", fix=f"backprop exercise {what} -o my_{what}.py")
    from backprop_cli.teach.exercise import write_exercise

    write_exercise(what, output)
    print(output)
    print(f"next: write backward in {output}, then: backprop exercise check {output}", file=sys.stderr)


def _check(file: Path, as_json: bool) -> None:
    from backprop_cli.runs.jsonio import dumps
    from backprop_cli.teach.exercise import grade

    report = grade(file)
    if as_json:
        print(dumps(report.to_dict()))
    else:
        _print(report)
    if not report.passed:
        raise SystemExit(1)


def _print(report) -> None:
    print(f"{report.file}: exercise {report.exercise} (class {report.class_name}) against backprop's {report.exercise}")
    if report.problem:
        print(f"  {report.problem}")
    if report.grades:
        print(f"  {'gradient':<9}{'shape':<14}{'verdict':<9}{'max |diff|':<12}{'rel. error':<12}at")
    for g in report.grades:
        print(f"  {g.tensor:<9}{str(g.shape):<14}{g.verdict:<9}{_numbers(g)}{'  ' + g.note if g.note else ''}")
    wrong = [g.tensor for g in report.grades if not g.right]
    if report.passed:
        print(f"all {len(report.grades)} gradients right: use it as a plugin layer in a config (see its docstring)")
    elif wrong:
        print(f"{len(wrong)} of {len(report.grades)} gradients not right: {', '.join(wrong)}")


def _numbers(g) -> str:
    """The largest difference, its relative size and where it is; nothing for an exact or missing gradient."""
    if g.max_diff is None or g.verdict == "exact":
        return ""
    return f"{g.max_diff:<12.2e}{g.rel_error:<12.2e}{list(g.at)}"
