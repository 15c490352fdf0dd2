"""Scoring a model on a split: batched inference, loss, accuracy, per-class and regression figures."""

from __future__ import annotations

import numpy as np

from backprop_cli.train.skewed import skewed_metrics

EVAL_BATCH = 1024


def predict_raw(model, x: np.ndarray, batch_size: int = EVAL_BATCH) -> np.ndarray:
    """The model's outputs (logits or values) for every row of x, in inference mode."""
    outputs = [model.forward(x[i : i + batch_size], training=False) for i in range(0, len(x), batch_size)]
    return np.concatenate(outputs) if outputs else np.empty((0,))


def predicted_classes(pred: np.ndarray) -> np.ndarray:
    """argmax over K logits, or the sign of a single logit (binary cross-entropy)."""
    if pred.ndim == 2 and pred.shape[1] == 1:
        return (pred[:, 0] > 0).astype(np.int64)
    return np.argmax(pred, axis=1)


def mean_loss(
    loss, pred: np.ndarray, y: np.ndarray, w: np.ndarray | None = None, batch_size: int = EVAL_BATCH
) -> float:
    """The loss over the whole split: the mean of batch means weighted by each batch's Σ w (its row count when
    unweighted), so a weighted loss is the weighted mean over every row."""
    total, weight = 0.0, 0.0
    for i in range(0, len(pred), batch_size):
        part = slice(i, i + batch_size)
        total += loss.forward(pred[part], y[part], None if w is None else w[part]) * loss.batch_weight
        weight += loss.batch_weight
    return total / weight if weight > 0 else 0.0


def score_split(model, loss, x: np.ndarray, y: np.ndarray, classification: bool, w: np.ndarray | None = None) -> dict:
    """Loss and (for classification) accuracy and the figures for skewed classes on one split (`w`: its rows'
    weights, or None)."""
    pred = predict_raw(model, x)
    result = {"loss": mean_loss(loss, pred, y, w)}
    if classification:
        result["accuracy"] = float(np.mean(predicted_classes(pred) == y))
        result.update(class_figures(loss, pred, y))
    return result


def class_figures(loss, pred: np.ndarray, y: np.ndarray, top_k: int | None = None) -> dict:
    """roc_auc, pr_auc, balanced_accuracy, log_loss, brier (and top_k_accuracy) from the loss's probabilities;
    none for a label per step of a sequence."""
    if pred.ndim != 2 or y.ndim != 1 or not len(y):
        return {}
    return skewed_metrics(y, loss.link(pred), top_k)


def classification_report(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> dict:
    """Accuracy, per-class precision/recall/F1/support and the confusion matrix (rows: true class)."""
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(confusion, (y_true, y_pred), 1)
    tp = np.diag(confusion).astype(np.float64)
    predicted, actual = confusion.sum(axis=0), confusion.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return {
        "accuracy": float(tp.sum() / max(len(y_true), 1)),
        "per_class": [
            {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for p, r, f, s in zip(precision, recall, f1, actual)
        ],
        "macro_f1": float(f1.mean()) if n_classes else 0.0,
        "confusion_matrix": confusion.tolist(),
    }


def regression_report(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """MSE, MAE and R² in the target's original units."""
    y_true = np.asarray(y_true, dtype=np.float64).reshape(len(y_true), -1)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(len(y_pred), -1)
    err = y_pred - y_true
    ss_res = float(np.sum(err**2))
    ss_tot = float(np.sum((y_true - y_true.mean(axis=0)) ** 2))
    return {
        "mse": float(np.mean(err**2)),
        "mae": float(np.mean(np.abs(err))),
        "r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else 0.0,
    }
