"""What a checkpoint keeps about its data, and how eval/predict apply it to new rows.

The meta is JSON-able:
{"format": 1, "source": "iris", "task": "classification", "input_shape": [4],
 "feature_names": [...] | null, "class_names": [...] | null, "target_names": [...] | null,
 "scaler": Scaler.to_dict(), "target_scaler": Scaler.to_dict() | null}
"""

from __future__ import annotations

import math

import numpy as np

from backprop_cli.data.finite import transform_checked
from backprop_cli.data.hints import did_you_mean, plural
from backprop_cli.data.scaling import Scaler
from backprop_cli.errors import CheckpointError, DataError

META_FORMAT = 1


def dataset_meta(ds) -> dict:
    """The data half of a checkpoint's metadata (ds: a Dataset)."""
    return {
        "format": META_FORMAT,
        "source": ds.source,
        "task": ds.task,
        "input_shape": list(ds.input_shape),
        "feature_names": ds.feature_names,
        "class_names": ds.class_names,
        "target_names": ds.target_names,
        "scaler": ds.scaler.to_dict(),
        "target_scaler": ds.target_scaler.to_dict() if ds.target_scaler is not None else None,
        **({"text": ds.text} if getattr(ds, "text", None) else {}),  # a language model's data (data/text.py)
    }


def is_text_model(meta: dict) -> bool:
    """The data's declared kind: text (a language model: ids in, the next character out) or rows of features.
    Every verb that touches data asks this, and reads, scores or refuses accordingly."""
    return bool(meta.get("text"))


def check_meta(meta: dict) -> dict:
    """A meta read back from a checkpoint, checked enough that using it cannot go wrong silently."""
    try:
        ok = (
            meta["format"] <= META_FORMAT
            and meta["task"] in ("classification", "regression")
            and all(isinstance(d, int) and d > 0 for d in meta["input_shape"])
            and (meta["task"] == "regression" or len(meta["class_names"]) >= 2)
        )
    except (KeyError, TypeError):
        ok = False
    if not ok:
        raise CheckpointError("the checkpoint's data metadata is missing or malformed")
    return meta


def scalers_of(meta: dict) -> tuple[Scaler, Scaler | None]:
    target = meta.get("target_scaler")
    return Scaler.from_dict(meta["scaler"]), Scaler.from_dict(target) if target else None


def prepare_features(
    x_raw: np.ndarray,
    meta: dict,
    dtype=np.float32,
    *,
    columns: list[str] | None = None,
    source: str = "the input",
) -> np.ndarray:
    """Raw rows (in the training files' units) -> model inputs (N, *input_shape), scaled as in training.

    With `columns` (a CSV header) and known feature names, columns are picked by name, so a file
    may hold them in any order and hold others too (the target, an id).
    """
    meta = check_meta(meta)
    shape = tuple(meta["input_shape"])
    x = np.asarray(x_raw)
    names = meta.get("feature_names")
    if columns is not None and names:
        x = x.reshape(len(x), -1)[:, _pick(columns, names, source)]
    x = _rows(x, shape, source)
    scaler, _ = scalers_of(meta)
    return transform_checked(scaler, x.reshape(len(x), *shape), dtype, source, names=names)


def _pick(columns: list[str], names: list[str], source: str) -> list[int]:
    index = {column: j for j, column in reversed(list(enumerate(columns)))}  # the first of equal names
    for name in names:
        if name not in index:
            raise DataError(
                f"has no column `{name}`, which the model needs", where=source, fix=did_you_mean(name, columns)
            )
    return [index[name] for name in names]


def _rows(x: np.ndarray, shape: tuple[int, ...], source: str) -> np.ndarray:
    n_features = math.prod(shape)
    if x.ndim == 0:
        raise DataError(
            "holds a single value (a 0-d array), not rows of features",
            where=source,
            fix="save an array of shape (N, features), e.g. np.save(path, x.reshape(1, -1))",
        )
    if x.ndim == 1:
        x = x.reshape(-1, 1) if n_features == 1 else x.reshape(1, -1)
    if len(x) == 0:
        raise DataError("holds no rows", where=source)
    got = math.prod(x.shape[1:])
    if got != n_features:
        raise _size_error(x, shape, got, source)
    if x.dtype.kind not in "biuf" or not np.all(np.isfinite(x)):
        raise DataError("holds values that are not finite numbers", where=source)
    return x


def _size_error(x: np.ndarray, shape: tuple[int, ...], got: int, source: str) -> DataError:
    if x.ndim > 2:  # images or sequences as arrays: their shapes say more than their sizes
        return DataError(
            f"the model expects inputs of shape {shape}, {source} has rows of shape {x.shape[1:]}",
            fix=f"give an array of shape (N, {', '.join(map(str, shape))}) as in training",
        )
    shaped = f" (its inputs have shape {shape}, read from each row in C order)" if len(shape) > 1 else ""
    return DataError(
        f"the model expects {plural(math.prod(shape), 'feature')}{shaped}, {source} has {got}",
        fix="give rows with the training data's columns",
    )
