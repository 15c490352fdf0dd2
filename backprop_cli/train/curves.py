"""ROC and precision-recall curves of one class against the rest, and their areas, from predicted scores.

A curve has one point per distinct score, taken as a threshold from the highest down (ties move
together), starting at no positive prediction: ROC from (0, 0) to (1, 1); precision-recall from
recall 0 (precision 1, by convention) to recall 1. Areas: the trapezoid rule under ROC; average
precision Σ (R_k − R_{k−1}) P_k under precision-recall (no interpolation, as scikit-learn's).
"""

from __future__ import annotations

import numpy as np


def _counts(positive: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(true positives, false positives) when predicting positive at or above each distinct score."""
    positive = np.asarray(positive, dtype=bool).reshape(-1)
    order = np.argsort(-np.asarray(scores, dtype=np.float64).reshape(-1), kind="stable")
    ranked, sorted_scores = positive[order], np.asarray(scores, dtype=np.float64).reshape(-1)[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(sorted_scores)), ranked.size - 1]  # where the threshold drops
    tp = np.cumsum(ranked)[last_of_tie]
    return tp, (last_of_tie + 1) - tp


def roc_curve(positive: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(false positive rate, true positive rate), both from 0 to 1; needs both kinds of example."""
    tp, fp = _counts(positive, scores)
    return np.r_[0.0, fp / max(fp[-1], 1)], np.r_[0.0, tp / max(tp[-1], 1)]


def pr_curve(positive: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(recall, precision), recall rising from 0 to 1."""
    tp, fp = _counts(positive, scores)
    return np.r_[0.0, tp / max(tp[-1], 1)], np.r_[1.0, tp / (tp + fp)]


def roc_auc(positive: np.ndarray, scores: np.ndarray) -> float:
    fpr, tpr = roc_curve(positive, scores)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def average_precision(positive: np.ndarray, scores: np.ndarray) -> float:
    recall, precision = pr_curve(positive, scores)
    return float(np.sum(np.diff(recall) * precision[1:]))
