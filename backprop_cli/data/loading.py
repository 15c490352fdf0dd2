"""The one entry point of the trainer: load_data(cfg.data, seed, dtype) -> Dataset."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from backprop_cli.data.builtin import check_options, lookup
from backprop_cli.data.dataset import Dataset, RawData
from backprop_cli.data.files import load_user_files
from backprop_cli.data.finite import fit_quietly, transform_checked
from backprop_cli.data.labels import encode_with
from backprop_cli.data.meta import check_meta, recipe_of, scalers_of, unseen_note
from backprop_cli.data.recipe import TableRecipe
from backprop_cli.data.rng import data_rng
from backprop_cli.data.rowfile import LazyRows
from backprop_cli.data.splits import fold_indices, split_indices
from backprop_cli.data.text import is_text
from backprop_cli.errors import DataError

if TYPE_CHECKING:
    from backprop_cli.config.schema import DataConfig
    from backprop_cli.data.download import Progress


def load_data(
    cfg: DataConfig,
    seed: int,
    dtype=np.float32,
    *,
    meta: dict | None = None,
    download: bool = False,
    progress: Progress | None = None,
    sequences: bool = False,
    raw: RawData | None = None,
) -> Dataset:
    """Read, split (validation from the seed), scale (fitted on the training split) and cast.

    meta: a checkpoint's dataset_meta(); its scalers and classes are applied instead of fitting
    new ones (eval). download: fetch a missing built-in dataset first (training). sequences: the model
    reads (C, L) sequences first, so a file's (N, C, L) array keeps its shape (else it is (N, 1, H, W)).
    raw: the data already read by the pre-flight checks (not read again).
    """
    if is_text(cfg):  # characters and next-character windows: no scaling, the vocabulary instead
        from backprop_cli.data.text import load_text_data

        return load_text_data(cfg, seed, dtype, meta=meta)
    sequences = sequences or (meta is not None and len(check_meta(meta)["input_shape"]) == 2)
    if raw is None:
        raw = load_raw(cfg, seed, download=download, progress=progress, sequences=sequences, meta=meta)
    if cfg.folds is not None:
        _hold_out_fold(raw, cfg.folds, cfg.fold, seed)
    if meta is not None:
        _conform_classes(raw, check_meta(meta))
    train, val = split_indices(raw.y_train, cfg.validation_split, raw.task, data_rng(seed, "split"), raw.source)
    recipe = encode_table(raw, train, meta) if raw.cells is not None else None
    if meta is not None:
        _conform_shape(raw, meta)
    x_train, y_train = _take(raw.x_train, train), _take(raw.y_train, train)
    x_val = _take(raw.x_train, val) if len(val) else None
    if meta is not None:
        scaler, target_scaler = scalers_of(meta)
    else:
        scaler = fit_quietly(cfg.scale, x_train, raw.base_scale)
        scaler = scaler if recipe is None else scaler.leaving(recipe.unscaled())  # one-hot columns stay 0/1
        target_scaler = fit_quietly("standard", y_train) if raw.task == "regression" and cfg.scale_target else None

    def xs(x, rows=None, source=raw.source):  # rows: where x's rows are in the file, for messages
        return None if x is None else transform_checked(scaler, x, dtype, source, rows, raw.feature_names)

    test_source = cfg.test_path or raw.source

    def ys(y, rows=None, source=raw.source):
        if y is None or raw.task == "classification":
            return None if y is None else np.ascontiguousarray(y, dtype=np.int64)
        as_model = target_scaler or fit_quietly("none", y)  # unscaled targets: only the cast is checked
        return transform_checked(as_model, y, dtype, source, rows, raw.target_names)

    has_val = len(val) > 0
    w = raw.w_train
    return Dataset(
        x_train=xs(x_train, train), y_train=ys(y_train, train),
        x_val=xs(x_val, val) if has_val else None, y_val=ys(raw.y_train[val], val) if has_val else None,
        x_test=xs(raw.x_test, source=test_source), y_test=ys(raw.y_test, source=test_source),
        task=raw.task, n_classes=len(raw.class_names) if raw.class_names else None,
        class_names=raw.class_names, input_shape=raw.input_shape, feature_names=raw.feature_names,
        scaler=scaler, target_scaler=target_scaler, source=raw.source, target_names=raw.target_names,
        notes=raw.notes, warnings=raw.warnings, recipe=recipe, w_train=None if w is None else w[train],
        w_val=None if w is None or not has_val else w[val], w_test=raw.w_test,
    )  # fmt: skip


def encode_table(raw: RawData, train: np.ndarray, meta: dict | None) -> TableRecipe:
    """A table's typed cells -> raw.x_train / raw.x_test, with the recipe fitted on the `train` rows (or
    the model's own, from `meta`); levels unseen in training and ID-like columns go into raw.warnings."""
    recipe = recipe_of(meta) if meta is not None else None
    if recipe is None:
        recipe = TableRecipe.fit(raw.cells.take(train))
        if meta is not None:  # a model saved before typed columns read numbers only, none missing
            recipe.require_plain_numbers(raw.cells)
    raw.x_train, unseen = recipe.encode(raw.cells)
    raw.warnings += unseen_note(unseen, raw.source) + (recipe.warnings(len(train)) if meta is None else [])
    if raw.test_cells is not None:
        raw.x_test, unseen = recipe.encode(raw.test_cells)
        raw.warnings += unseen_note(unseen, raw.test_cells.source)
    raw.feature_names = recipe.feature_names
    raw.cells = raw.test_cells = None  # encoded: the cells are not needed any more
    return recipe


def load_raw(
    cfg: DataConfig,
    seed: int,
    *,
    download: bool = False,
    progress: Progress | None = None,
    sequences: bool = False,
    meta: dict | None = None,
) -> RawData:
    """The data as read, before splitting and scaling: a built-in dataset or the user's file (read with the
    saved model's typed columns when `meta` is given)."""
    if cfg.dataset is None:
        recipe = recipe_of(meta) if meta is not None else None
        types = recipe.types if recipe is not None else None
        return load_user_files(cfg, sequences, known_targets=meta is not None, types=types)
    entry = lookup(cfg.dataset)
    check_options(cfg, entry)
    if download and entry.kind == "download":
        from backprop_cli.data.download import ensure_downloaded
        from backprop_cli.data.paths import resolve_data_dir

        ensure_downloaded(entry.name, resolve_data_dir(cfg.data_dir), progress)
    return entry.load(cfg, seed)


def _hold_out_fold(raw: RawData, k: int, fold: int, seed: int) -> None:
    """Cross-validation: fold `fold` of K (stratified, from the seed) becomes the test split, the other
    K - 1 folds the training data (of which validation_split is then held out as usual). A test split
    the data came with is set aside: cross-validation estimates from the training data alone."""
    folds = fold_indices(raw.y_train, k, raw.task, data_rng(seed, "folds"), raw.source)
    rest = np.concatenate([f for j, f in enumerate(folds) if j != fold])
    rest.sort()
    held, rows = folds[fold], raw.cells if raw.cells is not None else raw.x_train
    raw.y_test, raw.w_test = raw.y_train[held], None if raw.w_train is None else raw.w_train[held]
    raw.y_train, raw.w_train = raw.y_train[rest], None if raw.w_train is None else raw.w_train[rest]
    if raw.cells is not None:  # a table: its typed cells are split, the recipe is fitted on the rest
        raw.test_cells, raw.cells = rows.take(held), rows.take(rest)
    else:
        raw.x_test, raw.x_train = _take(rows, held), _take(rows, rest)
    raw.notes.append(f"cross-validation: fold {fold} of {k} ({len(folds[fold])} rows) is the test split")


def _take(a, idx: np.ndarray):
    """Rows idx of an array, or of LazyRows without reading them."""
    if len(idx) == len(a):  # the indices are sorted and distinct: every row, in order
        return a
    return a.subset(idx) if isinstance(a, LazyRows) else a[idx]


def _conform_shape(raw: RawData, meta: dict) -> None:
    shape = tuple(meta["input_shape"])
    if raw.input_shape != shape:
        raise DataError(
            f"rows have shape {raw.input_shape}, the model expects {shape}",
            where=raw.source,
            fix="evaluate with data of the same columns as the training data",
        )


def _conform_classes(raw: RawData, meta: dict) -> None:
    """Make data read for a saved model fit it: same task, the model's class indices."""
    if raw.task != meta["task"]:
        raise DataError(f"is {raw.task} data but the model was trained for {meta['task']}", where=raw.source)
    if raw.task == "classification" and raw.class_names != meta["class_names"]:
        names = np.array(raw.class_names)
        raw.y_train = encode_with(names[raw.y_train], meta["class_names"], lambda i: f"row {i + 1}", raw.source)
        if raw.y_test is not None:
            raw.y_test = encode_with(names[raw.y_test], meta["class_names"], lambda i: f"row {i + 1}", raw.source)
        raw.class_names = list(meta["class_names"])
