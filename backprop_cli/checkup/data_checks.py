"""The recipe's checks of the data, on the arrays as the network receives them (split, scaled).

class balance      the rarest class against the most common one in training (next-token data: skipped,
                   characters are never balanced)
split duplicates   held-out rows identical to a training row (hashes of rows)
constant features  columns with one value in all of training (tabular data; a pixel or a token position
                   is not a feature of its own)
target leakage     a column that gives the label away: each of its values goes with one class only
                   (and it is not an identifier, unique per row), or for regression a correlation of ±1
"""

from __future__ import annotations

import numpy as np

from backprop_cli.checkup.finding import Finding, skipped, verdict

MIN_BALANCE = 0.1  # the rarest class at least a tenth of the most common
MAX_DUPLICATES = 0.05  # a few exact repeats happen in real measurements (iris); more inflate held-out scores


def class_balance(data) -> Finding:
    name = "class balance"
    if data.task != "classification":
        return skipped(name, "regression: no classes")
    if data.text:
        return skipped(name, "next-token data: characters are never balanced")
    counts = np.bincount(np.asarray(data.y_train).reshape(-1), minlength=data.n_classes)
    ratio = counts.min() / max(counts.max(), 1)
    rare = int(np.argmin(counts))
    names = data.class_names or [str(i) for i in range(len(counts))]
    ok = ratio >= MIN_BALANCE
    fix = (
        ""
        if ok
        else "accuracy hides the rare class: collect or oversample it, and read per-class recall (`backprop eval`)"
    )
    measured = f"rarest {names[rare]!s}: {counts.min()} rows, {ratio:.2f} of the most common ({counts.max()})"
    return Finding(name, measured, f">= {MIN_BALANCE:g}", verdict(ok), fix)


def _row_keys(x: np.ndarray) -> set[bytes]:
    return {row.tobytes() for row in np.ascontiguousarray(x).reshape(len(x), -1)}


def split_duplicates(data) -> Finding:
    name = "split duplicates"
    held = [(split, x) for split, x in (("validation", data.x_val), ("test", data.x_test)) if x is not None and len(x)]
    if not held:
        return skipped(name, "no validation or test split")
    train = _row_keys(data.x_train)
    parts, worst = [], 0.0
    for split, x in held:
        repeated = sum(row.tobytes() in train for row in np.ascontiguousarray(x).reshape(len(x), -1))
        parts.append(f"{repeated} of {len(x)} {split} rows")
        worst = max(worst, repeated / len(x))
    ok = worst <= MAX_DUPLICATES
    fix = "" if ok else "held-out rows repeat training rows: remove duplicates before splitting"
    return Finding(
        name, ", ".join(parts) + " also in training", f"<= {MAX_DUPLICATES:.0%} of a split", verdict(ok), fix
    )


MIN_ROWS = 8  # fewer training rows than this (a worked example of one row) are no sample to judge columns by


def _not_columns(data) -> str | None:
    """Why the column checks do not apply, or None when they do."""
    if len(data.input_shape) != 1 or data.text:
        return f"inputs of shape {tuple(data.input_shape)} are not table columns"
    if len(data.x_train) < MIN_ROWS:
        return f"only {len(data.x_train)} training rows"
    return None


def constant_features(data) -> Finding:
    name = "constant features"
    if (why := _not_columns(data)) is not None:
        return skipped(name, why)
    x = np.asarray(data.x_train)
    constant = np.flatnonzero(np.all(x == x[:1], axis=0))
    names = _column_names(data)
    ok = constant.size == 0
    shown = ", ".join(names[i] for i in constant[:5]) + (" …" if constant.size > 5 else "")
    fix = "" if ok else "a column with one value teaches nothing: drop it (data.columns: {name: ignore})"
    return Finding(
        name, f"{constant.size} of {x.shape[1]} columns" + (f": {shown}" if shown else ""), "0", verdict(ok), fix
    )


def target_leakage(data) -> Finding:
    name = "target leakage"
    if (why := _not_columns(data)) is not None:
        return skipped(name, why)
    x, y = np.asarray(data.x_train), np.asarray(data.y_train)
    names = _column_names(data)
    leaks = [names[j] for j in range(x.shape[1]) if _gives_away(x[:, j], y, data.task)]
    ok = not leaks
    fix = "" if ok else "the target is in the inputs: drop the column (data.columns: {name: ignore})"
    return Finding(name, f"{len(leaks)} columns" + (f": {', '.join(leaks)}" if leaks else ""), "0", verdict(ok), fix)


def _gives_away(column: np.ndarray, y: np.ndarray, task: str) -> bool:
    if task == "classification":
        values, inverse = np.unique(column, return_inverse=True)
        if len(values) * 2 > len(column):
            return False  # (nearly) one value a row: an identifier or a measurement, not a label in disguise
        labels_per_value = np.unique(np.c_[inverse.reshape(-1), y.reshape(-1)], axis=0)[:, 0]
        return len(labels_per_value) == len(values) and len(values) > 1  # each value with one class
    target = y.reshape(len(y), -1)[:, 0].astype(np.float64)
    if column.std() == 0 or target.std() == 0:
        return False
    return abs(float(np.corrcoef(column.astype(np.float64), target)[0, 1])) > 0.999


def _column_names(data) -> list[str]:
    names = data.feature_names
    return (
        list(names)
        if names and len(names) == data.input_shape[0]
        else [f"column {i}" for i in range(data.input_shape[0])]
    )
