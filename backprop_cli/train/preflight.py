"""The checks `train` makes before its first step; `config validate` runs the same function, so the two agree.

In order (the first failure is the message both print):
1. the schedule against the optimizer (a min_lr above lr);
2. the data files exist (named by their key, so the CLI adds the line and the base of a relative path);
3. the data as train would find it (data/probe.py): CSV header, target and feature columns and cells,
   .npz/.npy shapes from their headers, the classes, the validation split;
4. the monitors of early stopping and the plateau schedule exist in this run;
5. the network's plan (nn/plan.py): every layer's shapes, its parameters and one training step's
   activations against memory, its output against the loss and classes, every layer against the data's
   meaning, the classes named by loss.class_weights; then the backward of each plugin layer (the user's own
   code) by a float64 gradcheck at its shapes;
6. data read whole (CSV, the small built-in sets): split, scaled and cast as training takes it (a column too
   large to scale, a value float32 cannot hold), and handed to train, which does not read it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backprop_cli.config.columns import resolve_columns
from backprop_cli.config.schema import Config, DataConfig
from backprop_cli.config.validation import validate
from backprop_cli.data.augment import check_augment
from backprop_cli.data.class_weights import check_class_names
from backprop_cli.data.dataset import Dataset
from backprop_cli.data.loading import load_data
from backprop_cli.data.probe import DataFacts, probe_data
from backprop_cli.data.text import is_text, load_text_data
from backprop_cli.diagnostics.admission import admit_config_plugins
from backprop_cli.errors import ConfigError
from backprop_cli.metric_names import SKEWED
from backprop_cli.nn.losses import build_loss
from backprop_cli.nn.plan import Facts, Plan, plan_network
from backprop_cli.nn.registry import reads_sequences
from backprop_cli.optim.registry import build_schedule
from backprop_cli.train.skewed import TOP_K_DEFAULT

FILE_KEYS = ("path", "test_path")  # and `target` when it names an .npy file


@dataclass
class Preflight:
    facts: DataFacts
    plan: Plan
    data: Dataset | None = None  # the data split, scaled and cast as training takes it, when it was read whole
    config: Config | None = None  # the config as it runs: a table's columns typed as they were read

    @property
    def notes(self) -> list[str]:
        """What the user is told about a table: its columns' types, rows left out, levels to look at."""
        if self.data is None or self.data.recipe is None:
            return []
        return self.data.notes + [f"warning: {w}" for w in self.data.warnings]

    @property
    def n_params(self) -> int:
        return self.plan.n_params


def preflight(config: Config, probes: dict | None = None) -> Preflight:
    """Every check train makes before its first step, without training; raises the error train would raise.
    `probes`: the data found for earlier configs (a sweep's trials), reused for an identical data section."""
    build_schedule(config.schedule, config.optimizer.lr, config.training.epochs, 1)  # min_lr vs lr
    check_data_files(config.data)
    sequences, dtype, text = reads_sequences(config.model.layers), np.dtype(config.training.dtype), is_text(config.data)
    key = (config.data.model_dump_json(), config.seed, sequences, dtype.name)
    probes = {} if probes is None else probes
    if key not in probes:
        probes[key] = _probe(config, sequences, dtype, text)
    facts, data = probes[key]
    check_monitors(config, facts)
    check_augment(config.data.augment, facts.input_shape, token_ids=text)
    plan = plan_config(config, network_facts(facts, text), rows=_training_rows(facts, data))
    check_class_names(config.loss.class_weights, facts.class_names)
    admit_config_plugins(plan.layers, facts.input_shape)  # the user's own layers: a proved backward
    if data is None and facts.raw is not None:  # read whole (a CSV, a small built-in set): split, scale, cast
        data = load_data(config.data, config.seed, dtype, sequences=sequences, raw=facts.raw)
        probes[key] = facts, data
    return Preflight(facts, plan, data, with_typed_columns(config, data))


def with_typed_columns(config: Config, data: Dataset | None) -> Config:
    """`config` with data.columns naming every column of a table as it was read (inferred ones included)."""
    if data is None or data.recipe is None:
        return config
    found = {t.name: t.to_spec() for t in data.recipe.types}
    columns = resolve_columns(config.data.columns, config.data.missing, found)
    typed = validate(DataConfig, {**config.data.model_dump(mode="json"), "columns": columns}, prefix="data")
    return config.model_copy(update={"data": typed})


def _probe(config: Config, sequences: bool, dtype: np.dtype, text: bool) -> tuple[DataFacts, Dataset | None]:
    """The data's facts; a text is read whole, as train reads it (its vocabulary sizes the model), and kept."""
    if not text:
        return probe_data(config.data, config.seed, sequences=sequences), None
    data = load_text_data(config.data, config.seed, dtype)
    facts = DataFacts(data.input_shape, data.task, data.n_classes, data.x_val is not None, None, data.y_train.shape[1:])
    return facts, data


def plan_config(config: Config, facts: Facts, rows: int | None = None) -> Plan:
    """The plan of the config's network for data with these facts: its layers, loss, dtype and the memory of
    a training step. `rows`: the training rows, when known (a batch is never larger)."""
    batch = min(config.training.batch_size, rows) if rows else config.training.batch_size
    return plan_network(config.model.layers, facts, loss=build_loss(config.loss), dtype=config.training.dtype,
                        batch=batch)  # fmt: skip


def _training_rows(facts: DataFacts, data: Dataset | None) -> int | None:
    """The rows training will batch, when they are known before loading."""
    if data is not None:
        return len(data.x_train)
    return len(facts.raw.y_train) if facts.raw is not None else None  # a table has cells, not x, yet


def network_facts(facts: DataFacts, text: bool) -> Facts:
    """What the plan needs of the probed data; a text's classes are its vocabulary and its targets the next
    character at every step."""
    vocab_size = facts.n_classes if text else None
    return Facts(facts.input_shape, facts.task, facts.n_classes, tuple(facts.label_shape), vocab_size, text)


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
        if (kind == "accuracy" or kind in SKEWED) and facts.task != "classification":
            raise ConfigError(
                f"is {metric}, but this is a {facts.task} run: it has no {kind}",
                where=key,
                fix=f"monitor {metric.replace(kind, 'loss')}",
            )
        if kind == "top_k_accuracy" and facts.n_classes is not None and facts.n_classes <= TOP_K_DEFAULT:
            raise ConfigError(
                f"is {metric}, reported for more than {TOP_K_DEFAULT} classes; the data has {facts.n_classes}",
                where=key,
                fix="monitor val_accuracy, or another figure",
            )
        if metric.startswith("val_") and not facts.has_validation:
            raise ConfigError(
                f"is {metric}, but data.validation_split is 0: no validation data is held out",
                where=key,
                fix=f"set data.validation_split (e.g. 0.1), or monitor train_{kind}",
            )
