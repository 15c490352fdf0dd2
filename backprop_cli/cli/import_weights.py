"""`backprop import-weights`: a run directory from a PyTorch state dict saved as safetensors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def import_weights(
    config: Annotated[Path, typer.Argument(help="Experiment YAML file describing the same network.")],
    weights: Annotated[Path, typer.Argument(help="A PyTorch state dict saved with safetensors.torch.save_file.")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="The run directory to create.")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a key: model.layers.0.units=64")] = None,
    runs_dir: Annotated[Optional[str], typer.Option("--runs-dir", help="Where the run goes (without -o).")] = None,
) -> None:
    """Build CONFIG's network, load WEIGHTS into it (mapped by position, checked), print the new run directory."""
    from backprop_cli.config.load import load_config
    from backprop_cli.errors import ConfigError
    from backprop_cli.interop.import_run import import_weights as run_import

    loaded = load_config(config, set_ or [])
    try:
        print(run_import(loaded.config, weights, output, runs_dir))
    except ConfigError as err:  # found once the data is known (class count): name the config line
        raise loaded.locate(err) from None
