"""The user's own data: `data.path` (.csv, .npz or .npy), `data.target`, `data.features`, `data.test_path`.

CSV: a header names the columns; the target is `data.target` (default: the last column), the
features are `data.features` (default: every other column), typed (data/tablefile.py); Parquet and
Feather likewise (data/arrow.py). NPZ: x_train/y_train[/x_test/y_test] or x/y; features bigger than
memory are read by index (data/rowfile.py). NPY: x at `data.path`, y at `data.target`. uint8 arrays are
8-bit pixels (file units 0..255); (N, H, W) arrays become (N, 1, H, W) images, unless the model reads
sequences first (conv1d, rnn, ...): then an (N, C, L) array keeps its shape.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from backprop_cli.data.arrays import load_npy, load_npz, peek_npy, peek_npz
from backprop_cli.data.arrow import ARROW_SUFFIXES
from backprop_cli.data.dataset import RawData
from backprop_cli.data.hints import did_you_mean
from backprop_cli.data.labels import Target, encode_like, encode_target
from backprop_cli.data.rowfile import LazyRows, RowFile, lazy_threshold, npy_rows, npz_member_rows
from backprop_cli.data.tablefile import load_arrow_table, load_csv_table
from backprop_cli.errors import DataError

CSV_SUFFIXES = (".csv", ".tsv", ".txt")


def load_user_files(cfg, sequences: bool = False, known_targets: bool = False, types=None) -> RawData:
    """RawData from `cfg.path` (and `cfg.test_path`), by suffix; `sequences`: 3-D arrays are (N, C, L).
    A table's features stay typed cells until the training split is known (data/tablefile.py);
    `known_targets`: a table row without a target is an error (eval), not left out (training); `types`: a
    saved model's typed columns."""
    suffix = Path(cfg.path).suffix.lower()
    if suffix in CSV_SUFFIXES:
        return load_csv_table(cfg, known_targets, types)
    if suffix in ARROW_SUFFIXES:
        return load_arrow_table(cfg, known_targets, types)
    if suffix in (".npz", ".npy"):
        return _load_arrays(cfg, suffix, sequences)
    raise DataError(
        f"unsupported file type `{suffix or '(none)'}`",
        where=cfg.path,
        fix="give a .csv (with a header), a .parquet or .feather table, an .npz or an .npy file",
    )


def probe_arrays(cfg, sequences: bool = False) -> tuple[tuple[int, ...], Target]:
    """An .npz/.npy's per-example input shape read from its header, and its encoded targets, without reading x:
    what `config validate` needs, with the messages train gives."""
    suffix = Path(cfg.path).suffix.lower()
    _check_array_keys(cfg, suffix)
    if suffix == ".npz":
        headers = peek_npz(Path(cfg.path), cfg.path)
        x_name, y_name = _npz_names(cfg.path, headers, "train")
        (shape, dtype), y = headers[x_name], load_npz(Path(cfg.path), cfg.path, only=[y_name])[y_name]
    else:
        shape, dtype = peek_npy(Path(cfg.path), cfg.path)
        y = load_npy(Path(cfg.target), cfg.target)
    _check_x_header(shape, dtype, y, cfg.path)
    image = len(shape) == 3 and not sequences  # (N, H, W) -> (1, H, W), as _check_x reshapes it
    per_example = (1,) if len(shape) == 1 else (1, *shape[1:]) if image else tuple(shape[1:])
    return per_example, encode_target(y, cfg.task, lambda i: f"index {i}", cfg.path, "y")


def _check_array_keys(cfg, suffix: str) -> None:
    for key in ("columns", "weight_column"):
        if getattr(cfg, key) is not None:
            raise DataError(
                f"data.{key} types the columns of a table (CSV, Parquet); an array file has none",
                where=f"data.{key}",
                fix="remove it",
            )
    if cfg.features is not None:
        raise DataError(
            "data.features picks CSV columns; an array file has none",
            where="data.features",
            fix="remove it, or select the features when saving the arrays",
        )
    if suffix == ".npz" and cfg.target is not None:
        raise DataError("the targets of an .npz are its y (or y_train) array", where="data.target", fix="remove it")
    if suffix == ".npy" and not cfg.target:
        raise DataError(
            "an .npy file holds one array",
            where=cfg.path,
            fix="give the labels file as data.target (e.g. target: y.npy), or use an .npz",
        )


def _load_arrays(cfg, suffix: str, sequences: bool = False) -> RawData:
    _check_array_keys(cfg, suffix)
    big = _big_features(cfg, suffix)
    if big is not None:  # read by index, never whole (data/rowfile.py); the rest of the file is read whole
        y_name = None if suffix == ".npy" else _npz_names(cfg.path, peek_npz(Path(cfg.path), cfg.path), "train")[1]
        rest = load_npz(Path(cfg.path), cfg.path, only=[y_name, "x_test", "y_test"]) if y_name else None
        y = rest.pop(y_name) if rest is not None else load_npy(Path(cfg.target), cfg.target)
        x, arrays = _lazy_x(big, y, sequences), rest
    elif suffix == ".npz":
        arrays = load_npz(Path(cfg.path), cfg.path)
        x, y = _npz_pair(cfg.path, arrays, "train")
    else:
        x, y, arrays = load_npy(Path(cfg.path), cfg.path), load_npy(Path(cfg.target), cfg.target), None
    if big is None:
        x = _check_x(x, y, cfg.path, sequences=sequences)
    tgt = encode_target(y, cfg.task, lambda i: f"index {i}", cfg.path, "y")
    raw = RawData(
        x,
        tgt.y,
        tgt.task,
        cfg.path,
        class_names=tgt.class_names,
        base_scale=255.0 if x.dtype == np.uint8 else 1.0,
        notes=[tgt.note] if tgt.note else [],
    )
    test = _array_test_split(cfg, arrays)
    if test is not None:
        raw.x_test = _check_x(test[0], test[1], cfg.test_path or cfg.path, like=x, sequences=sequences)
        raw.y_test = encode_like(test[1], tgt, lambda i: f"index {i}", cfg.test_path or cfg.path, "y")
    return raw


def _big_features(cfg, suffix: str) -> RowFile | None:
    """The training features' RowFile when they are larger than lazy_threshold() (and stored uncompressed)."""
    if suffix == ".npy":
        shape, dtype = peek_npy(Path(cfg.path), cfg.path)
        return npy_rows(Path(cfg.path), cfg.path) if math.prod(shape) * dtype.itemsize > lazy_threshold() else None
    headers = peek_npz(Path(cfg.path), cfg.path)
    x_name, _ = _npz_names(cfg.path, headers, "train")
    shape, dtype = headers[x_name]
    if math.prod(shape) * dtype.itemsize <= lazy_threshold():
        return None
    return npz_member_rows(Path(cfg.path), cfg.path, x_name)  # None when compressed: read whole, as before


def _lazy_x(file: RowFile, y: np.ndarray, sequences: bool) -> LazyRows:
    """The features as LazyRows, checked as _check_x checks an array: shape and dtype from the header, every
    value finite in one chunked pass."""
    _check_x_header(file.shape, file.dtype, y, file.source)
    shape = file.shape
    example = (1,) if len(shape) == 1 else (1, *shape[1:]) if len(shape) == 3 and not sequences else shape[1:]
    x = LazyRows(file, example)
    if file.dtype.kind == "f":
        for start, rows in x.chunks():
            bad = ~np.isfinite(rows.reshape(len(rows), -1))
            if bad.any():
                i, k = np.argwhere(bad)[0]
                raise DataError(
                    f"index {start + i}, feature {k}: value {rows.reshape(len(rows), -1)[i, k]} is not a finite number",
                    where=file.source,
                    fix="replace or drop non-finite rows",
                )
    return x


def _array_test_split(cfg, arrays: dict | None) -> tuple[np.ndarray, np.ndarray] | None:
    if cfg.test_path:
        if Path(cfg.test_path).suffix.lower() != ".npz":
            raise DataError(
                "a test set given with arrays must be an .npz holding x and y (or x_test, y_test)", where=cfg.test_path
            )
        return _npz_pair(cfg.test_path, load_npz(Path(cfg.test_path), cfg.test_path), "test")
    if arrays is not None and ("x_test" in arrays or "y_test" in arrays):
        return _require(arrays, ("x_test", "y_test"), cfg.path)
    return None


def _npz_pair(source: str, arrays: dict[str, np.ndarray], split: str) -> tuple[np.ndarray, np.ndarray]:
    x_name, y_name = _npz_names(source, arrays, split)
    return arrays[x_name], arrays[y_name]


def _npz_names(source: str, arrays: dict, split: str) -> tuple[str, str]:
    """The names of the (x, y) pair of a split among an .npz's members."""
    for names in ((f"x_{split}", f"y_{split}"), ("x", "y")):
        if names[0] in arrays or names[1] in arrays:
            _require(arrays, names, source)
            return names
    raise DataError(
        f"holds the arrays {', '.join(sorted(arrays)) or '(none)'}; expected x_train and y_train "
        "(optionally x_test and y_test), or x and y",
        where=source,
        fix="save with np.savez(path, x_train=..., y_train=...)",
    )


def _require(arrays: dict[str, np.ndarray], names: tuple[str, str], source: str) -> tuple[np.ndarray, np.ndarray]:
    for name in names:
        if name not in arrays:
            raise DataError(
                f"has `{names[0]}` and `{names[1]}` only in part: `{name}` is missing",
                where=source,
                fix=did_you_mean(name, arrays),
            )
    return arrays[names[0]], arrays[names[1]]


def _check_x_header(shape: tuple[int, ...], dtype: np.dtype, y: np.ndarray, source: str) -> None:
    """What the header tells: numbers, 1 to 4 dimensions, at least one row, as many rows as y."""
    if np.ndim(y) == 0:
        raise DataError("y is a single value (a 0-d array), not one target per row", where=source)
    n_y = len(y)
    if dtype.kind not in "biuf":
        raise DataError(f"features of dtype {dtype} are not numbers", where=source, fix="store numeric arrays")
    if not 1 <= len(shape) <= 4 or shape[0] == 0:
        shapes = "(N, F), (N, C, L), (N, H, W) or (N, C, H, W)"
        raise DataError(f"features must have shape {shapes}, found {shape}", where=source)
    if 0 in shape[1:]:  # it would train, and write a checkpoint nothing can use
        raise DataError(f"rows have zero features (shape {shape})", where=source, fix="give at least one feature")
    if shape[0] != n_y:
        raise DataError(f"x has {shape[0]} rows but y has {n_y}", where=source, fix="give x and y the same length")


def _check_x(
    x: np.ndarray, y: np.ndarray, source: str, like: np.ndarray | None = None, sequences: bool = False
) -> np.ndarray:
    """Numeric, finite, 1 to 4 dimensions, as many rows as y; (N,) -> (N, 1); (N, H, W) -> (N, 1, H, W)
    unless `sequences` (then (N, C, L) stays)."""
    _check_x_header(x.shape, x.dtype, y, source)
    if x.dtype.kind == "f":
        bad = ~np.isfinite(x).reshape(len(x), -1)
        if bad.any():
            i, k = np.argwhere(bad)[0]
            raise DataError(
                f"index {i}, feature {k}: value {x.reshape(len(x), -1)[i, k]} is not a finite number",
                where=source,
                fix="replace or drop non-finite rows",
            )
    x = x.reshape(len(x), 1) if x.ndim == 1 else x[:, None] if x.ndim == 3 and not sequences else x
    if like is not None and x.shape[1:] != like.shape[1:]:
        raise DataError(f"test features have shape {x.shape[1:]}, training features {like.shape[1:]}", where=source)
    return x if x.dtype.kind in "uf" else x.astype(np.float64)
