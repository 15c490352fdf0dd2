"""The `backprop` command: one Typer app, one verb per module, one boundary that maps errors to exit codes."""

from __future__ import annotations

import typer

from backprop_cli import __version__

app = typer.Typer(
    name="backprop",
    help="Train neural networks written in plain NumPy, every backward pass explicit.",
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"backprop {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Train neural networks written in plain NumPy, every backward pass explicit."""


def main() -> None:
    app()
