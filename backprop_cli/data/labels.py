"""Targets: the task they imply, class labels mapped to indices, regression targets as float columns.

The `auto` rule: classification when the target is text or bool, or integer-valued in one column
with at most MAX_AUTO_CLASSES distinct values; regression otherwise. `data.task` overrides it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from backprop_cli.errors import DataError

MAX_AUTO_CLASSES = 50
Locate = Callable[[int], str]  # row index -> "line 7" or "index 6", for messages


@dataclass
class Target:
    task: str
    y: np.ndarray  # int64 (N,) or float64 (N, T)
    class_names: list[str] | None
    note: str | None = None


def as_numbers(values: np.ndarray) -> np.ndarray | None:
    """Text cells as float64 when every one is a number, else None (arrays of numbers pass through)."""
    if values.dtype.kind != "U":
        return values
    try:
        return np.array([float(v) for v in values.ravel()], dtype=np.float64).reshape(values.shape)
    except ValueError:
        return None


def encode_target(values: np.ndarray, requested: str, locate: Locate, where: str, name: str) -> Target:
    """Decide the task (unless requested) and encode y for it.

    Text labels (a CSV's cells) stay text: the class names are the cells as written (`1.0` stays
    `1.0`, `02134` and `2134` are two classes); they are read as numbers only for regression and to
    decide the task and order the classes when every one is a number.
    """
    values = _check_kind(values, where)
    spelled = values if values.dtype.kind == "U" else None
    numbers = as_numbers(values)
    if numbers is not None:
        values = numbers
        bad = _first_non_finite(values) if values.dtype.kind == "f" else None
        if bad is not None:
            raise DataError(
                f"{locate(bad)}: the target `{name}` is not a finite number", where=where, fix="fix or drop that row"
            )
    task, note = _decide(values, requested, name)
    if task == "regression":
        if numbers is None:
            i = _first_text(values)
            raise DataError(
                f"{locate(i)}: the target `{name}` holds `{values.flat[i]}`; a regression target must be numeric",
                where=where,
                fix="set data.task: classification, or choose a numeric target",
            )
        y = values.astype(np.float64)
        return Target(task, y.reshape(len(y), -1), None, note)
    y, names = _encode_classes(values, locate, where, name, text=spelled if numbers is not None else None)
    return Target(task, y, names, note)


def encode_with(values: np.ndarray, class_names: list[str], locate: Locate, where: str) -> np.ndarray:
    """Indices of labels into known class names (a test set, or data evaluated with a saved model);
    text labels are matched as written."""
    values = _check_kind(values, where)
    labels = _names_of(_column(values, where))
    lookup = {name: i for i, name in enumerate(class_names)}
    unknown = [i for i, label in enumerate(labels) if label not in lookup]
    if unknown:
        i = unknown[0]
        raise DataError(
            f"{locate(i)}: label `{labels[i]}` is out of range: the classes are {', '.join(class_names)}",
            where=where,
            fix="use only the training set's classes",
        )
    return np.array([lookup[label] for label in labels], dtype=np.int64)


def encode_like(values: np.ndarray, tgt: Target, locate: Locate, where: str, name: str) -> np.ndarray:
    """A test set's targets, encoded as the training targets were."""
    if tgt.task == "classification":
        return encode_with(values, tgt.class_names, locate, where)
    y = encode_target(values, "regression", locate, where, name).y
    if y.shape[1] != tgt.y.shape[1]:
        raise DataError(f"has {y.shape[1]} target columns, the training data {tgt.y.shape[1]}", where=where)
    return y


def _decide(values: np.ndarray, requested: str, name: str) -> tuple[str, str | None]:
    if requested != "auto":
        return requested, None
    if values.dtype.kind == "U":
        return "classification", f"task: classification (auto: `{name}` holds labels)"
    if values.ndim == 1 or values.shape[1] == 1:
        flat = values.ravel()
        distinct = np.unique(flat)
        if np.all(distinct == np.round(distinct)) and len(distinct) <= MAX_AUTO_CLASSES:
            return "classification", (
                f"task: classification (auto: `{name}` has {len(distinct)} distinct integer values; "
                "set data.task: regression to override)"
            )
    return "regression", f"task: regression (auto: `{name}` is numeric; set data.task to override)"


def _encode_classes(
    values: np.ndarray, locate: Locate, where: str, name: str, text: np.ndarray | None = None
) -> tuple[np.ndarray, list[str]]:
    """Class indices (N,) and names; `text`: the labels as written, whose distinct spellings are the classes
    (ordered by their value, then their spelling), when `values` are those labels read as numbers."""
    flat = _column(values, where)
    if flat.dtype.kind == "f":
        bad = np.flatnonzero(flat != np.round(flat))
        if len(bad):
            shown = _column(text, where)[bad[0]] if text is not None else f"{flat[bad[0]]:g}"
            raise DataError(
                f"{locate(int(bad[0]))}: class label `{shown}` is not an integer",
                where=where,
                fix="class labels must be integers or text; set data.task: regression for a numeric target",
            )
    if text is not None:
        y, names = _classes_by_spelling(flat, _column(text, where))
    else:
        distinct, y = np.unique(flat, return_inverse=True)  # numbers sort numerically, text alphabetically
        names = _names_of(distinct)
    if len(names) < 2:
        raise DataError(
            f"the target `{name}` has a single class ({names[0]}); classification needs at least 2",
            where=where,
            fix="check the target column, or set data.task: regression",
        )
    return y.astype(np.int64).reshape(-1), names


def _classes_by_spelling(numbers: np.ndarray, text: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """One class per distinct spelling, ordered by value, then spelling ("2" < "10", "02134" < "2134")."""
    spellings = text.tolist()
    names = [t for _, t in sorted(set(zip(numbers.tolist(), spellings)))]
    index = {t: i for i, t in enumerate(names)}
    return np.array([index[t] for t in spellings], dtype=np.int64), names


def _column(values: np.ndarray, where: str) -> np.ndarray:
    if values.ndim == 2 and values.shape[1] == 1:
        return values[:, 0]
    if values.ndim != 1:
        raise DataError(
            f"class labels must be one column, found shape {values.shape}",
            where=where,
            fix="for one-hot labels store np.argmax(y, axis=1)",
        )
    return values


def _names_of(values: np.ndarray) -> list[str]:
    if values.dtype.kind in "iub":
        return [str(int(v)) for v in values]
    if values.dtype.kind == "f":
        return [str(int(v)) if v == round(v) else repr(float(v)) for v in values]
    return [str(v) for v in values]


def _check_kind(values: np.ndarray, where: str) -> np.ndarray:
    if values.dtype.kind == "b":
        return values.astype(np.int64)
    if values.dtype.kind == "S":
        return values.astype(str)
    if values.dtype.kind not in "iufU":
        raise DataError(f"targets of dtype {values.dtype} are not supported", where=where, fix="store numbers or text")
    if values.ndim not in (1, 2) or len(values) == 0:
        raise DataError(f"targets must have shape (N,) or (N, T), found {values.shape}", where=where)
    return values


def _first_non_finite(values: np.ndarray) -> int | None:
    bad = np.flatnonzero(~np.isfinite(values).reshape(len(values), -1).all(axis=1))
    return int(bad[0]) if len(bad) else None


def _first_text(values: np.ndarray) -> int:
    for i, v in enumerate(values.ravel()):
        try:
            float(v)
        except ValueError:
            return i
    return 0
