"""What the pre-flight checks need to know about a run's data, found as cheaply as train would find it.

- a built-in dataset that is downloaded (mnist, fashion_mnist): its table (shape, classes); nothing is read;
- a generated or bundled one: generated/read as train does (cheap), and kept for train to reuse;
- the user's CSV: read whole, as train reads it (header, target and typed feature columns, every cell), and
  kept; its input width is that of its columns encoded by the recipe fitted on the training split;
- the user's .npz/.npy: the feature array's shape from its header (never read), and the labels.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from backprop_cli.data.arrow import ARROW_SUFFIXES
from backprop_cli.data.builtin import check_options, lookup
from backprop_cli.data.dataset import RawData
from backprop_cli.data.files import CSV_SUFFIXES, load_user_files, probe_arrays
from backprop_cli.data.rng import data_rng
from backprop_cli.data.splits import split_indices


@dataclass
class DataFacts:
    input_shape: tuple[int, ...]  # per example
    task: str  # "classification" | "regression"
    n_classes: int | None
    has_validation: bool
    raw: RawData | None = None  # the data as read, when it was read whole (train goes on from it)
    label_shape: tuple[int, ...] = ()  # one example's target: () a class, (L,) one per step, (T,) regression
    class_names: list[str] | None = None  # as the data spells them, when known without reading it all


def probe_data(cfg, seed: int, sequences: bool = False) -> DataFacts:
    """The data's shape, task, classes and validation split; the errors are those loading would raise.
    `sequences`: the model reads (C, L) sequences first, so a 3-D array is (N, C, L), as load_data reads it."""
    if cfg.dataset is not None:
        entry = lookup(cfg.dataset)
        check_options(cfg, entry)
        if entry.kind == "download":  # 60000 rows: a split always leaves both parts
            n_classes = entry.n_classes
            return DataFacts(entry.input_shape, entry.task, n_classes, cfg.validation_split > 0)
        return _from_raw(entry.load(cfg, seed), cfg, seed)
    if Path(cfg.path).suffix.lower() in CSV_SUFFIXES + ARROW_SUFFIXES:
        return _from_raw(load_user_files(cfg, sequences), cfg, seed)
    if Path(cfg.path).suffix.lower() in (".npz", ".npy"):
        input_shape, target = probe_arrays(cfg, sequences)
        names = target.class_names
        split_indices(target.y, cfg.validation_split, target.task, data_rng(seed, "split"), cfg.path)
        n_classes = len(names) if names else None
        has_val = cfg.validation_split > 0
        return DataFacts(input_shape, target.task, n_classes, has_val, None, target.y.shape[1:], names)
    return _from_raw(load_user_files(cfg, sequences), cfg, seed)  # an unsupported suffix: its message


def _from_raw(raw: RawData, cfg, seed: int) -> DataFacts:
    split_indices(raw.y_train, cfg.validation_split, raw.task, data_rng(seed, "split"), raw.source)
    n_classes = len(raw.class_names) if raw.class_names else None
    input_shape = raw.input_shape if raw.cells is None else _encoded_shape(raw, cfg, seed)
    has_val = cfg.validation_split > 0
    return DataFacts(input_shape, raw.task, n_classes, has_val, raw, raw.y_train.shape[1:], raw.class_names)


def _encoded_shape(raw: RawData, cfg, seed: int) -> tuple[int, ...]:
    """A table's input shape: its columns encoded by the recipe fitted on the training split, as train does
    (on a copy: train encodes `raw` itself)."""
    from backprop_cli.data.loading import load_data

    return load_data(cfg, seed, np.float64, raw=replace(raw, notes=list(raw.notes))).input_shape
