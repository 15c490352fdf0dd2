"""`backprop eval`: score a checkpoint (or a run's best) on a split, as a table or one JSON object."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from backprop_cli.cli.options import PluginFiles, hand_over_plugins


def evaluate(
    checkpoint: Annotated[
        Path, typer.Argument(metavar="CHECKPOINT_OR_RUN", help="A .safetensors checkpoint or a run directory.")
    ],
    split: Annotated[
        Optional[str],
        typer.Option("--split", metavar="SPLIT", help="test | val | train (default: test, else val, else train)"),
    ] = None,
    data: Annotated[
        Optional[list[str]],
        typer.Option(
            "--data", metavar="KEY=VALUE", help="Change a data key: path=other.csv (a new file is scored whole)"
        ),
    ] = None,
    weights: Annotated[
        Optional[str],
        typer.Option(
            "--weights", metavar="raw|ema", help="ema: the weight average (the default when the run kept one); raw"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    plugin: PluginFiles = None,
) -> None:
    """Evaluate a checkpoint: loss, accuracy, per-class precision/recall/F1 and confusion matrix, or MSE/MAE/R²."""
    from backprop_cli.errors import UserError
    from backprop_cli.inference import SPLITS, evaluate_split, load_trained
    from backprop_cli.runs.jsonio import dumps

    hand_over_plugins(plugin)
    if split is not None and split not in SPLITS:
        raise UserError(f"unknown split {split!r}", where="--split", fix=f"choose one of {', '.join(SPLITS)}")
    if weights is not None and weights not in ("raw", "ema"):
        raise UserError(f"unknown weights {weights!r}", where="--weights", fix="choose raw or ema")
    trained = load_trained(checkpoint, weights)
    result = evaluate_split(trained, split, data or [])
    if as_json:
        print(dumps(result))
    else:
        _print_report(result)


def _print_report(result: dict) -> None:
    from rich.table import Table

    from backprop_cli.cli.output import short_number, stdout_console

    console = stdout_console()
    scored = result["scored"] if result["split"] == "all" else f"{result['split']} split"
    averaged = ", weight average (EMA)" if result.get("weights") == "ema" else ""
    console.print(f"{result['checkpoint']} (epoch {result['epoch']}{averaged}), {scored}, n={result['n']}")
    summary = Table(show_header=False, box=None)
    for key in ("loss", "accuracy", "macro_f1", "mse", "mae", "r2", "perplexity", "bits_per_char", "exact_match"):
        if key in result:
            name = f"loss (of {result['loss_of']})" if key == "loss" and "loss_of" in result else key
            summary.add_row(name, short_number(result[key]))
    console.print(summary)
    for example in result.get("wrong_examples", []):  # additions: what a wrong answer looks like
        console.print(f"  wrong: {example}", markup=False, highlight=False)
    if "per_class" in result:
        names = [str(n) for n in result["class_names"]]
        table = Table(title="per class")
        for column in ("class", "precision", "recall", "f1", "support"):
            table.add_column(column, justify="right")
        for name, row in zip(names, result["per_class"]):
            table.add_row(
                name, f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}", str(row["support"])
            )
        console.print(table)
        matrix = Table(title="confusion matrix (rows: true, columns: predicted)")
        matrix.add_column("")
        for name in names:
            matrix.add_column(name, justify="right")
        for name, row in zip(names, result["confusion_matrix"]):
            matrix.add_row(name, *map(str, row))
        console.print(matrix)
