"""The figures for skewed classes equal scikit-learn's on the same predictions, ties included."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_cli.metric_names import maximised
from backprop_cli.train.improvement import resolve_mode
from backprop_cli.train.skewed import skewed_metrics, suggested_threshold


def sklearn_metrics():
    """scikit-learn's metrics, imported by the tests that compare with them (~3 s: not at collection)."""
    return pytest.importorskip("sklearn.metrics")


def _probabilities(seed: int, n: int, k: int, decimals: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels with every class present and probabilities rounded so that many scores tie."""
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.arange(k), rng.integers(0, k, n - k)])
    z = np.round(rng.normal(size=(n, k)) * 2, decimals)
    p = np.exp(z)
    return y, p / p.sum(axis=1, keepdims=True)


def _sklearn(y: np.ndarray, p: np.ndarray) -> dict:
    metrics, k = sklearn_metrics(), p.shape[1]
    if k == 2:
        ref = {
            "roc_auc": metrics.roc_auc_score(y, p[:, 1]),
            "pr_auc": metrics.average_precision_score(y, p[:, 1]),
            "brier": metrics.brier_score_loss(y, p[:, 1]),
        }
    else:
        ref = {
            "roc_auc": metrics.roc_auc_score(y, p, multi_class="ovr", average="macro"),
            "pr_auc": metrics.average_precision_score(np.eye(k)[y], p, average="macro"),
            "brier": metrics.brier_score_loss(y, p),
        }
    ref["balanced_accuracy"] = metrics.balanced_accuracy_score(y, p.argmax(axis=1))
    ref["log_loss"] = metrics.log_loss(y, p, labels=list(range(k)))
    if k > 5:
        ref["top_k_accuracy"] = metrics.top_k_accuracy_score(y, p, k=5, labels=list(range(k)))
    return ref


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(12, 200),
    k=st.sampled_from([2, 3, 7]),
    decimals=st.sampled_from([0, 1, 6]),
)
def test_each_figure_equals_scikit_learns_on_the_same_probabilities(seed, n, k, decimals):
    y, p = _probabilities(seed, n, k, decimals)
    ours, ref = skewed_metrics(y, p), _sklearn(y, p)
    assert set(ours) == set(ref)
    for name, value in ref.items():
        assert ours[name] == pytest.approx(value, rel=1e-12, abs=1e-12), name


def test_top_k_breaks_ties_as_scikit_learn_does():
    p = np.array([[0.25, 0.25, 0.25, 0.25, 0.0, 0.0], [0.2, 0.2, 0.2, 0.2, 0.2, 0.0]])
    y = np.array([0, 5])
    metrics = sklearn_metrics()
    for k in (1, 2, 3, 4):
        expected = metrics.top_k_accuracy_score(y, p, k=k, labels=list(range(6)))
        assert skewed_metrics(y, p, top_k=k)["top_k_accuracy"] == expected


def test_a_figure_undefined_on_one_class_is_none():
    y, p = np.zeros(4, dtype=int), np.full((4, 2), 0.5)
    out = skewed_metrics(y, p)
    assert out["roc_auc"] is None and out["pr_auc"] is None and out["balanced_accuracy"] == 1.0


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(4, 80))
def test_the_suggested_threshold_maximises_balanced_accuracy_over_every_cut(seed, n):
    rng = np.random.default_rng(seed)
    y = np.r_[0, 1, rng.integers(0, 2, n - 2)]
    p1 = np.round(rng.random(n), 1)
    found = suggested_threshold(y, p1)
    metrics = sklearn_metrics()
    fpr, tpr, _ = metrics.roc_curve(y, p1, drop_intermediate=False)  # every cut, all-negative and all-positive too
    best = np.max((tpr + 1 - fpr) / 2)  # balanced accuracy of two classes: the mean of TPR and TNR
    assert found["balanced_accuracy"] == pytest.approx(best, abs=1e-12)
    at_cut = metrics.balanced_accuracy_score(y, (p1 > found["threshold"]).astype(int))
    assert at_cut == pytest.approx(best, abs=1e-12)


@pytest.mark.parametrize(
    "monitor, mode",
    [("val_roc_auc", "max"), ("val_pr_auc", "max"), ("val_balanced_accuracy", "max"), ("val_log_loss", "min"),
     ("val_brier", "min"), ("val_top_k_accuracy", "max"), ("val_loss", "min"), ("train_accuracy", "max")],
)  # fmt: skip
def test_the_mode_of_a_monitor_is_inferred_from_its_name(monitor, mode):
    assert resolve_mode(monitor) == mode and maximised(monitor) == (mode == "max")
