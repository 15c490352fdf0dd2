"""`backprop export`: the trained network as an ONNX graph or an npz of named arrays; prints the file's path."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from backprop_cli.cli.options import PluginFiles, hand_over_plugins


def export(
    checkpoint: Annotated[Path, typer.Argument(help="A .safetensors checkpoint or a run directory.")],
    fmt: Annotated[str, typer.Option("--format", help="onnx | npz")] = "onnx",
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="File to write [default: RUN/model.onnx].")
    ] = None,
    proba: Annotated[bool, typer.Option("--proba", help="ONNX: output class probabilities instead of logits.")] = False,
    plugin: PluginFiles = None,
) -> None:
    """Export a trained model: ONNX (raw rows in, logits or --proba out, scaling folded in) or npz."""
    from backprop_cli.interop.export import export_model

    hand_over_plugins(plugin)

    print(export_model(checkpoint, fmt, output, proba))
