"""The checks `train` makes before its first step; `config validate` runs the same function, so the two agree.

In order (the first failure is the message both print):
1. the schedule against the optimizer (a min_lr above lr);
2. the data files exist (named by their key, so the CLI adds the line and the base of a relative path);
3. the data as train would find it (data/probe.py): CSV header, target and feature columns and cells,
   .npz/.npy shapes from their headers, the classes, the validation split;
4. the monitors of early stopping and the plateau schedule exist in this run;
5. the model: every layer's shapes, its size against memory, its output against the loss and classes,
   and the backward of each plugin layer (the user's own code) by a float64 gradcheck at its shapes;
6. data read whole (CSV, the small built-in sets): split, scaled and cast as training takes it (a column too
   large to scale, a value float32 cannot hold), and handed to train, which does not read it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backprop_cli.config.schema import Config
from backprop_cli.data.augment import check_augment
from backprop_cli.data.dataset import Dataset
from backprop_cli.data.loading import load_data
from backprop_cli.data.probe import DataFacts, probe_data
from backprop_cli.data.text import is_text, load_text_data
from backprop_cli.diagnostics.admission import admit_config_plugins
from backprop_cli.errors import ConfigError
from backprop_cli.nn.attention.embedding import with_vocab_size
from backprop_cli.nn.conv.windows import reads_sequences
from backprop_cli.nn.losses import build_loss
from backprop_cli.nn.model import estimate_model
from backprop_cli.optim.registry import build_schedule
from backprop_cli.train.setup import check_model_fits, check_output_layer

FILE_KEYS = ("path", "test_path")  # and `target` when it names an .npy file


@dataclass
class Preflight:
    facts: DataFacts
    n_params: int
    data: Dataset | None = None  # the data split, scaled and cast as training takes it, when it was read whole


def preflight(config: Config) -> Preflight:
    """Every check train makes before its first step, without training; raises the error train would raise."""
    build_schedule(config.schedule, config.optimizer.lr, config.training.epochs, 1)  # min_lr vs lr
    check_data_files(config.data)
    if is_text(config.data):  # a text is read whole, as train reads it: its vocabulary sizes the model
        facts, vocab_size, rows = _probe_text(config)
    else:
        facts, vocab_size = probe_data(config.data, config.seed, sequences=reads_sequences(config.model.layers)), None
        rows = len(facts.raw.x_train) if facts.raw is not None else None
    check_monitors(config, facts)
    check_augment(config.data.augment, facts.input_shape, token_ids=is_text(config.data))
    n_params = check_model_fits(config, facts.input_shape, vocab_size, rows)
    layer_specs = with_vocab_size(config.model.layers, vocab_size)
    _, output_shape = estimate_model(layer_specs, facts.input_shape)
    check_output_layer(config, output_shape, build_loss(config.loss), facts.n_classes, facts.task, facts.label_shape)
    admit_config_plugins(layer_specs, facts.input_shape)
    data = None
    if facts.raw is not None:  # read whole (a CSV, a small built-in set): split, scale and cast it as train does
        sequences = reads_sequences(config.model.layers)
        data = load_data(config.data, config.seed, np.dtype(config.training.dtype), sequences=sequences, raw=facts.raw)
    return Preflight(facts, n_params, data)


def _probe_text(config: Config) -> tuple[DataFacts, int, int]:
    data = load_text_data(config.data, config.seed, np.dtype(config.training.dtype))
    facts = DataFacts(data.input_shape, data.task, data.n_classes, data.x_val is not None, None, data.y_train.shape[1:])
    return facts, data.n_classes, len(data.x_train)


def check_data_files(data) -> None:
    """Each file the data section names exists (a key path, so the message gets its line and base)."""
    keys = FILE_KEYS + (("target",) if data.path and data.path.lower().endswith(".npy") else ())
    for key in keys:
        value = getattr(data, key)
        if value and not Path(value).exists():
            raise ConfigError(f"file not found: {value}", where=f"data.{key}", fix="check the path")


def monitors(config: Config) -> list[tuple[str, str]]:
    """(key path, metric) of every metric the run watches by name."""
    found = []
    if config.training.early_stopping is not None:
        found.append(("training.early_stopping.monitor", config.training.early_stopping.monitor))
    if config.schedule.type == "plateau":
        found.append(("schedule.monitor", config.schedule.monitor))
    return found


def check_monitors(config: Config, facts: DataFacts) -> None:
    """An accuracy needs classes; a val_* metric needs a validation split: otherwise it is never measured."""
    for key, metric in monitors(config):
        kind = metric.removeprefix("val_").removeprefix("train_")
        if kind == "accuracy" and facts.task != "classification":
            raise ConfigError(
                f"is {metric}, but this is a {facts.task} run: it has no accuracy",
                where=key,
                fix=f"monitor {metric.replace('accuracy', 'loss')}",
            )
        if metric.startswith("val_") and not facts.has_validation:
            raise ConfigError(
                f"is {metric}, but data.validation_split is 0: no validation data is held out",
                where=key,
                fix=f"set data.validation_split (e.g. 0.1), or monitor train_{kind}",
            )
