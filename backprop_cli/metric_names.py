"""The names of the metrics a run reports, and which way is better: one table for early stopping, the
plateau schedule, best checkpoints and the ranking of sweeps (no numbers here: train/skewed.py computes them)."""

from __future__ import annotations

# classification figures that stay meaningful when one class is rare (validation per epoch, eval, test)
SKEWED = ("roc_auc", "pr_auc", "balanced_accuracy", "log_loss", "brier", "top_k_accuracy")
MAXIMISED = ("accuracy", "roc_auc", "pr_auc", "balanced_accuracy", "top_k_accuracy")  # the rest: lower is better
SPLITS = ("val", "train", "test")


def kind_of(metric: str) -> str:
    """`val_roc_auc` -> `roc_auc`."""
    for split in SPLITS:
        if metric.startswith(f"{split}_"):
            return metric[len(split) + 1 :]
    return metric


def maximised(metric: str) -> bool:
    """Higher is better (accuracies, areas under curves); lower for losses, log loss and the Brier score."""
    return kind_of(metric) in MAXIMISED
