"""The logs other tools read, as the config's `output:` section asks: metrics.csv and TensorBoard events.

Light to import (train/setup.py checks the packages here before any data is read); the writers themselves
are imported only for a run that trains.
"""

from __future__ import annotations

import sys

from backprop_cli.errors import ConfigError

TB_FIX = "install the optional extra: pip install 'backprop-cli[tensorboard]', or set output.tensorboard: false"


def require_tensorboardx():
    """tensorboardX's SummaryWriter, or one clear message before the run starts.

    tensorboardX imports PyTorch whenever it is installed (~2 s) only to accept torch tensors as well as
    NumPy arrays; we give it NumPy arrays, so it is imported with torch hidden (a `None` in sys.modules
    makes its `import torch` fail as if torch were absent), and torch stays importable afterwards."""
    hide_torch = "torch" not in sys.modules
    if hide_torch:
        sys.modules["torch"] = None
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise ConfigError(
            "output.tensorboard needs the tensorboardX package, which is not installed",
            where="output.tensorboard",
            fix=TB_FIX,
        ) from None
    finally:
        if hide_torch and sys.modules.get("torch", False) is None:
            del sys.modules["torch"]
    return SummaryWriter


def check_log_writers(config) -> None:
    """Before a run directory fills: an optional package the config needs is installed."""
    if config.output.tensorboard:
        require_tensorboardx()


def log_writers(config, files) -> list:
    """The callbacks for `output.csv` and `output.tensorboard`; they run after the checkpointer."""
    from backprop_cli.config.load import config_to_yaml
    from backprop_cli.train.csv_log import CsvLog
    from backprop_cli.train.tensorboard import TensorBoardLog

    writers: list = []
    if config.output.csv:
        writers.append(CsvLog(files))
    if config.output.tensorboard:
        writers.append(TensorBoardLog(files, config_to_yaml(config), config.diagnostics.monitor_every_n_steps))
    return writers
