"""`backprop config show|validate|schema`: the resolved config, a check, and the JSON Schema for editors."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(help="Show, validate, or describe experiment configs.", no_args_is_help=True, rich_markup_mode=None)

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
ConfigArg = Annotated[Path, typer.Argument(metavar="CONFIG", help="Experiment YAML file.")]
SetOption = Annotated[
    Optional[list[str]], typer.Option("--set", metavar="KEY=VALUE", help="Override a key: optimizer.lr=0.01")
]


@app.command()
def show(config: ConfigArg, set_: SetOption = None) -> None:
    """Print the resolved config: overrides applied, defaults filled in, keys that do not apply left out."""
    from backprop_cli.config.load import load_config
    from backprop_cli.config.view import shown_yaml

    sys.stdout.write(shown_yaml(load_config(config, set_ or []).config))


@app.command()
def validate(config: ConfigArg, set_: SetOption = None) -> None:
    """Check a config as `train` checks it before its first step; exit 0 when valid, 2 when not.

    The same checks in the same order, by the same function, so the same first message: the schema, the
    data files and columns, the class count against the output layer and the loss, the schedule, the
    monitors, the model's shapes and size."""
    from backprop_cli.config.load import load_config
    from backprop_cli.errors import ConfigError

    loaded = load_config(config, set_ or [])
    cfg = loaded.config
    from backprop_cli.train.preflight import preflight  # NumPy and the data code: only for a config that parsed

    try:
        checked = preflight(cfg)
    except ConfigError as err:
        raise loaded.locate(err) from None
    for line in checked.notes:  # a table's typed columns, as train reads them
        print(f"{config}: {line}", file=sys.stderr)
    print(
        f"{config}: valid ({len(cfg.model.layers)} layers, {checked.n_params:,} parameters, "
        f"loss {cfg.loss.type}, optimizer {cfg.optimizer.type})",
        file=sys.stderr,
    )


@app.command()
def schema() -> None:
    """Print the JSON Schema of the config (point your editor's YAML plugin at it)."""
    from backprop_cli.config.schema import Config

    schema = {"$schema": JSON_SCHEMA_DIALECT, **Config.model_json_schema()}  # pydantic writes draft 2020-12
    print(json.dumps(schema, indent=2))
