"""Metrics for skewed classes, from class probabilities (N, K): scikit-learn's definitions, ties included.

- roc_auc: the probability that a random positive scores above a random negative, a tie counting one half
  (the Mann-Whitney U from average ranks: the trapezoids of roc_auc_score); K > 2: the macro mean one-vs-rest.
- pr_auc: average precision, Σ (R_i − R_{i−1}) P_i over the distinct scores from the highest down
  (average_precision_score); K > 2: the macro mean one-vs-rest.
- balanced_accuracy: the mean recall of the classes present in y.
- log_loss: −mean log p[n, yₙ], probabilities clipped to [eps, 1 − eps] (eps of float64).
- brier: mean (p₁ − y)² for two classes; K > 2: mean over rows of Σₖ (pₖ − [y = k])².
- top_k_accuracy: y among the k highest scores (ties: the higher class index first, as scikit-learn's sort).
A figure that is undefined on the data (one class only) is None.
"""

from __future__ import annotations

import numpy as np

TOP_K_DEFAULT = 5  # top_k_accuracy is reported by default when there are more classes than this


def skewed_metrics(y: np.ndarray, proba: np.ndarray, top_k: int | None = None) -> dict[str, float | None]:
    """Every figure of the module docstring; `top_k`: None for the default (5 when K > 5, else left out)."""
    y = np.asarray(y).reshape(-1)
    proba = np.asarray(proba, dtype=np.float64)
    k_classes = proba.shape[1]
    out = {
        "roc_auc": _one_vs_rest(roc_auc, y, proba),
        "pr_auc": _one_vs_rest(average_precision, y, proba),
        "balanced_accuracy": balanced_accuracy(y, np.argmax(proba, axis=1)),
        "log_loss": log_loss(y, proba),
        "brier": brier(y, proba),
    }
    k = top_k if top_k is not None else TOP_K_DEFAULT if k_classes > TOP_K_DEFAULT else None
    if k is not None:
        out["top_k_accuracy"] = top_k_accuracy(y, proba, k)
    return out


def roc_auc(positive: np.ndarray, score: np.ndarray) -> float | None:
    """Binary ROC AUC of `score` for the boolean `positive`."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = _average_ranks(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_precision(positive: np.ndarray, score: np.ndarray) -> float | None:
    """Σ (R_i − R_{i−1}) P_i at each distinct score, from the highest down."""
    if not positive.any():
        return None
    order = np.argsort(score, kind="mergesort")[::-1]
    s, hit = score[order], positive[order].astype(np.float64)
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # the last row of each run of equal scores
    tps = np.cumsum(hit)[last_of_tie]
    precision = tps / (last_of_tie + 1)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def balanced_accuracy(y: np.ndarray, predicted: np.ndarray) -> float:
    classes = np.unique(y)
    return float(np.mean([np.mean(predicted[y == c] == c) for c in classes]))


def log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    eps = np.finfo(np.float64).eps
    p = np.clip(proba[np.arange(len(y)), y], eps, 1 - eps)
    return float(-np.mean(np.log(p)))


def brier(y: np.ndarray, proba: np.ndarray) -> float:
    if proba.shape[1] == 2:
        return float(np.mean((proba[:, 1] - (y == 1)) ** 2))
    onehot = np.eye(proba.shape[1])[y]
    return float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))


def top_k_accuracy(y: np.ndarray, proba: np.ndarray, k: int) -> float:
    best = np.argsort(proba, axis=1, kind="mergesort")[:, ::-1][:, :k]  # a tie: the higher index first
    return float(np.mean((best == y[:, None]).any(axis=1)))


def suggested_threshold(y: np.ndarray, p1: np.ndarray) -> dict[str, float] | None:
    """The cut t (class 1 when p₁ > t) that maximises balanced accuracy, and that accuracy; None with one class."""
    positive = np.asarray(y).reshape(-1) == 1
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(p1, kind="mergesort")
    s, pos = p1[order], positive[order]
    cuts = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # t = s[i]: rows 0..i below or at t are class 0
    negatives_below = np.cumsum(~pos)[cuts]
    positives_above = n_pos - np.cumsum(pos)[cuts]
    score = 0.5 * (negatives_below / n_neg + positives_above / n_pos)
    cut = np.r_[0.0 if s[0] > 0 else -1.0, s[cuts]]  # the first: below every p₁, everything is class 1
    every = np.r_[0.5, score]
    ties = np.flatnonzero(every >= every.max() - 1e-12)
    best = ties[np.argmin(np.abs(cut[ties] - 0.5))]  # of equally good cuts, the one nearest the default 0.5
    return {"threshold": float(cut[best]), "balanced_accuracy": float(every[best])}


def _one_vs_rest(metric, y: np.ndarray, proba: np.ndarray) -> float | None:
    """Binary: of class 1's probability. K > 2: the macro mean over the classes present, each against the rest."""
    if proba.shape[1] == 2:
        return metric(y == 1, proba[:, 1])
    values = [metric(y == k, proba[:, k]) for k in range(proba.shape[1])]
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def _average_ranks(score: np.ndarray) -> np.ndarray:
    """1-based ranks, tied scores sharing the mean of their ranks."""
    order = np.argsort(score, kind="mergesort")
    s = score[order]
    starts = np.r_[0, np.flatnonzero(np.diff(s)) + 1]
    ends = np.r_[starts[1:], len(s)]
    ranks = np.empty(len(s), dtype=np.float64)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks
