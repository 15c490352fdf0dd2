"""The validation split and cross-validation folds: training rows held out, stratified by class, from the seed."""

from __future__ import annotations

import numpy as np

from backprop_cli.errors import DataError


def split_indices(
    y: np.ndarray, fraction: float, task: str, rng: np.random.Generator, source: str = "the data"
) -> tuple[np.ndarray, np.ndarray]:
    """(train_idx, val_idx), each sorted; round(N * fraction) rows (at least 1) go to validation.

    For classification every class gives its share (largest remainders), and keeps at least one
    training row, so that a rare class is never held out entirely.
    """
    n = len(y)
    if fraction <= 0:
        return np.arange(n), np.arange(0)
    n_val = max(1, int(round(n * fraction)))
    if n_val >= n:
        raise DataError(
            f"validation_split {fraction} of {n} rows leaves no training rows",
            where=source,
            fix="lower data.validation_split or use more data",
        )
    if task == "classification":
        val = _stratified(y, n_val, rng)
    else:
        val = rng.permutation(n)[:n_val]
    mask = np.zeros(n, dtype=bool)
    mask[val] = True
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def fold_indices(
    y: np.ndarray, k: int, task: str, rng: np.random.Generator, source: str = "the data"
) -> list[np.ndarray]:
    """K disjoint folds covering every row once, each sorted, sizes within one of N / K.

    Fold j takes round(remaining / (K - j)) of the rows not yet in a fold, by the same stratified
    draw as the validation split, so that every fold keeps the class proportions; the last fold
    takes what remains.
    """
    n = len(y)
    if n < k:
        raise DataError(f"{k} folds need at least {k} rows; the data has {n}", where=source, fix="use fewer folds")
    remaining, folds = np.arange(n), []
    for j in range(k - 1):
        n_fold = int(round(len(remaining) / (k - j)))
        if task == "classification":
            picked = remaining[_stratified(y[remaining], n_fold, rng)]
        else:
            picked = rng.permutation(remaining)[:n_fold]
        folds.append(np.sort(picked))
        remaining = np.setdiff1d(remaining, picked, assume_unique=True)
    return [*folds, remaining]


def _stratified(y: np.ndarray, n_val: int, rng: np.random.Generator) -> np.ndarray:
    """Each class gets n_val * n_c / N rows, rounded by largest remainders, capped at n_c - 1."""
    classes, counts = np.unique(y, return_counts=True)
    quota = n_val * counts / len(y)
    take = np.floor(quota).astype(np.int64)
    short = n_val - int(take.sum())
    order = np.argsort(-(quota - take), kind="stable")  # largest remainder first, ties by class
    take[order[:short]] += 1
    take = np.minimum(take, counts - 1)
    picked = []
    for cls, k in zip(classes, take):
        members = np.flatnonzero(y == cls)
        picked.append(rng.permutation(members)[:k])
    return np.concatenate(picked) if picked else np.arange(0)
