"""Scaling that refuses what does not survive it: finite in the file is not finite in the model.

A feature of 1e308 is finite in float64 but not in float32 (whose largest value is 3.4e38), and
(1e308 - mean) / std can overflow even in float64. The finiteness of the raw values is checked when
they are read; this checks again after the cast to the training dtype and the scaling, so that such
a value is one clear DataError naming the file, the row and the column, not NumPy RuntimeWarnings,
then a "diverged" run (or, in predict, the same meaningless probabilities for every row).
"""

from __future__ import annotations

import numpy as np

from backprop_cli.data.rowfile import LazyRows
from backprop_cli.data.scaling import Scaler
from backprop_cli.errors import DataError


def fit_quietly(kind: str, x: np.ndarray, base_scale: float = 1.0) -> Scaler:
    """Scaler.fit whose overflowing statistics (a sum of 1e308s) stay inf/nan, caught by transform_checked."""
    with np.errstate(over="ignore", invalid="ignore"):
        return Scaler.fit(kind, x, base_scale)


def transform_checked(
    scaler: Scaler,
    x: np.ndarray,
    dtype,
    source: str,
    rows: np.ndarray | None = None,
    names: list[str] | None = None,
) -> np.ndarray:
    """scaler.transform(x, dtype), every value finite; else a DataError for the first one that is not.

    rows: the index in the file of each row of x (x may be a split of it); names: the feature names.
    """
    _check_statistics(scaler, x, source, rows, names)
    if isinstance(x, LazyRows):  # read by index: checked chunk by chunk, scaled batch by batch
        return _lazy_checked(scaler, x, dtype, source, rows, names)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        out = scaler.transform(x, dtype)
    if out.dtype.kind != "f" or np.isfinite(out).all():  # one pass over the result, no copy of x
        return out
    _raise_first(out, x, dtype, source, rows, names)


def _lazy_checked(scaler: Scaler, x: LazyRows, dtype, source: str, rows, names) -> LazyRows:
    for start, chunk in x.chunks():
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            out = scaler.transform(chunk, dtype)
        if out.dtype.kind == "f" and not np.isfinite(out).all():
            _raise_first(out, chunk, dtype, source, None if rows is None else rows[start:], names)
    return x.scaled(scaler, dtype)


def _raise_first(out: np.ndarray, x: np.ndarray, dtype, source: str, rows, names) -> None:
    flat = out.reshape(len(out), -1)
    i, k = (int(v) for v in np.argwhere(~np.isfinite(flat))[0])
    value = float(np.asarray(x).reshape(len(x), -1)[i, k])
    row = int(rows[i]) if rows is not None else i
    column = f"`{names[k]}`" if names and k < len(names) else f"{k + 1}"
    raise DataError(
        f"row {row + 1}, column {column}: {_why(value, np.dtype(dtype))}", where=source, fix=_fix(value, dtype)
    )


def _check_statistics(scaler: Scaler, x: np.ndarray, source: str, rows, names) -> None:
    """Statistics that overflowed while fitting (a column of 1e308s has no finite mean) name their column
    and its largest value, instead of every row of that column being reported as not finite."""
    finite = np.isfinite(scaler.offset) & np.isfinite(scaler.scale)
    if finite.all():
        return
    k = int(np.flatnonzero(~finite.ravel())[0])
    values = np.abs(np.asarray(x).reshape(len(x), finite.size, -1)[:, k, :]).max(axis=1)  # per row
    i = int(np.argmax(values))
    row = int(rows[i]) if rows is not None else i
    column = f"`{names[k]}`" if names and k < len(names) else f"{k + 1}"
    raise DataError(
        f"column {column}: its values (up to {values[i]:g}, row {row + 1}) are too large to scale: "
        "its mean or spread overflows float64",
        where=source,
        fix=_fix(0.0, np.float64),
    )


def _why(value: float, dtype: np.dtype) -> str:
    if abs(value) > float(np.finfo(dtype).max):
        return f"value {value:g} does not fit in {dtype} (largest {float(np.finfo(dtype).max):.3g})"
    return f"value {value:g} is not a finite number once scaled (the column's values overflow the scaling)"


def _fix(value: float, dtype) -> str:
    if abs(value) > float(np.finfo(dtype).max):
        return "rescale that column in the file, or set training.dtype: float64"
    return "rescale that column in the file (to units where its values stay well below 1e300)"
