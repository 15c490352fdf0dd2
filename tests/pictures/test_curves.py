"""ROC and precision-recall curves and their areas, against values worked out by hand."""

from __future__ import annotations

import numpy as np

from backprop_cli.train.curves import average_precision, pr_curve, roc_auc, roc_curve

# positives at scores 0.9 and 0.7, negatives at 0.8 and 0.1. Lowering the threshold through the scores:
#   0.9: TP 1 FP 0;  0.8: TP 1 FP 1;  0.7: TP 2 FP 1;  0.1: TP 2 FP 2
POSITIVE = np.array([1, 0, 1, 0])
SCORES = np.array([0.9, 0.8, 0.7, 0.1])


def test_roc_curve_steps_through_each_threshold():
    fpr, tpr = roc_curve(POSITIVE, SCORES)
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 0.5, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 0.5, 1, 1])


def test_roc_auc_is_the_fraction_of_positive_negative_pairs_ranked_right():
    # pairs (positive, negative): (0.9, 0.8) (0.9, 0.1) (0.7, 0.1) right, (0.7, 0.8) wrong: 3/4
    assert roc_auc(POSITIVE, SCORES) == 0.75


def test_precision_recall_curve_and_average_precision():
    recall, precision = pr_curve(POSITIVE, SCORES)
    np.testing.assert_allclose(recall, [0, 0.5, 0.5, 1, 1])
    np.testing.assert_allclose(precision, [1, 1, 0.5, 2 / 3, 0.5])
    # AP = Σ ΔR · P: 0.5 · 1 + 0.5 · 2/3
    np.testing.assert_allclose(average_precision(POSITIVE, SCORES), 0.5 + 1 / 3)


def test_tied_scores_move_together():
    fpr, tpr = roc_curve(np.array([1, 0]), np.array([0.5, 0.5]))
    np.testing.assert_allclose(fpr, [0, 1])
    np.testing.assert_allclose(tpr, [0, 1])
    assert roc_auc(np.array([1, 0]), np.array([0.5, 0.5])) == 0.5


def test_a_perfect_ranking_has_area_one_and_a_reversed_one_zero():
    positive, scores = np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9])
    assert roc_auc(positive, scores) == 1.0 and average_precision(positive, scores) == 1.0
    assert roc_auc(positive, -scores) == 0.0
