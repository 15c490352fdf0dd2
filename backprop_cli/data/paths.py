"""Where downloaded datasets live: $BACKPROP_DATA_DIR, else `data.data_dir`, else ~/.cache/backprop."""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "BACKPROP_DATA_DIR"
DEFAULT_DATA_DIR = Path("~/.cache/backprop")


def data_dir_setting(directory: Path) -> str:
    """Which setting chose `directory` (a dataset's folder or the data dir itself), for messages."""
    env = os.environ.get(DATA_DIR_ENV)
    if env and Path(env).expanduser() in (directory, directory.parent):
        return f"${DATA_DIR_ENV}"
    if DEFAULT_DATA_DIR.expanduser() in (directory, directory.parent):
        return f"the default data directory (set ${DATA_DIR_ENV})"
    return "--data-dir (or data.data_dir)"


def resolve_data_dir(config_dir: str | os.PathLike | None = None) -> Path:
    """The data directory: the environment variable wins over the config's `data.data_dir`."""
    chosen = os.environ.get(DATA_DIR_ENV) or config_dir or DEFAULT_DATA_DIR
    return Path(chosen).expanduser()
