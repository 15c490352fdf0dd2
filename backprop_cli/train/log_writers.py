"""The logs other tools read, as the config's `output:` section asks: metrics.csv and TensorBoard events."""

from __future__ import annotations

from backprop_cli.config import config_to_yaml
from backprop_cli.runs.rundir import RunFiles
from backprop_cli.train.callbacks import Callback
from backprop_cli.train.csv_log import CsvLog
from backprop_cli.train.tensorboard import TensorBoardLog, require_tensorboardx


def check_log_writers(config) -> None:
    """Before a run directory is made: an optional package the config needs is installed."""
    if config.output.tensorboard:
        require_tensorboardx()


def log_writers(config, files: RunFiles) -> list[Callback]:
    """The callbacks for `output.csv` and `output.tensorboard`; they run after the checkpointer."""
    writers: list[Callback] = []
    if config.output.csv:
        writers.append(CsvLog(files))
    if config.output.tensorboard:
        writers.append(TensorBoardLog(files, config_to_yaml(config), config.diagnostics.monitor_every_n_steps))
    return writers
