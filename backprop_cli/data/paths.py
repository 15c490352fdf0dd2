"""Where downloaded datasets live: $BACKPROP_DATA_DIR, else `data.data_dir`, else ~/.cache/backprop."""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "BACKPROP_DATA_DIR"
DEFAULT_DATA_DIR = Path("~/.cache/backprop")


def resolve_data_dir(config_dir: str | os.PathLike | None = None) -> Path:
    """The data directory: the environment variable wins over the config's `data.data_dir`."""
    chosen = os.environ.get(DATA_DIR_ENV) or config_dir or DEFAULT_DATA_DIR
    return Path(chosen).expanduser()
