"""Class and row weights in the losses: L = Σ w ℓ / Σ w and dz = w_y (p − y) / Σw, gradchecked in float64."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backprop_cli.config.schema import LOSS_NAMES
from backprop_cli.nn.core.activations import Linear
from backprop_cli.nn.losses import BinaryCrossEntropyWithLogits, SoftmaxCrossEntropy, build_loss

CLASSIFIERS = ("cross_entropy", "binary_cross_entropy")


class RowWeighted:
    """A loss with fixed row weights, called as the gradient checker calls a loss: forward(pred, target)."""

    def __init__(self, loss, weights):
        self.loss, self.weights = loss, weights

    def forward(self, pred, target):
        return self.loss.forward(pred, target, self.weights)

    def backward(self):
        return self.loss.backward()


def _pred_and_target(name, rng):
    if name == "cross_entropy":
        return rng.standard_normal((6, 3)), np.array([0, 1, 2, 2, 1, 2])
    if name == "binary_cross_entropy":
        return rng.standard_normal((6, 1)), np.array([0, 1, 1, 0, 1, 1])
    return rng.standard_normal((6, 2)), rng.standard_normal((6, 2))


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_every_loss_with_row_weights_backpropagates_the_gradient_of_its_weighted_mean(name, rng, gradients_match):
    pred, target = _pred_and_target(name, rng)
    weights = np.array([0.5, 2.0, 1.0, 0.0, 3.0, 1.5])  # a zero: that row is out of the loss
    gradients_match(Linear(), pred, rng, loss=RowWeighted(build_loss(name), weights), target=target)


@pytest.mark.parametrize("smoothing", [0.0, 0.2], ids=["hard labels", "label smoothing 0.2"])
@pytest.mark.parametrize("name", CLASSIFIERS)
def test_class_weights_times_row_weights_backpropagate_exactly(name, smoothing, rng, gradients_match):
    pred, target = _pred_and_target(name, rng)
    loss = build_loss({"type": name, "label_smoothing": smoothing})
    loss.class_weights = np.array([3.0, 0.5, 1.25][: 3 if name == "cross_entropy" else 2])
    gradients_match(Linear(), pred, rng, loss=RowWeighted(loss, np.array([1.0, 2, 1, 1, 0.5, 1])), target=target)
    gradients_match(Linear(), pred, rng, loss=loss, target=target)  # class weights alone


def test_a_weighted_cross_entropy_is_the_weighted_mean_of_the_rows_worked_out_by_hand():
    # equal logits: every row's loss is log 3; with p = 1/3 everywhere the gradient rows are w_n (1/3 - onehot) / Σw
    loss = SoftmaxCrossEntropy()
    loss.class_weights = np.array([3.0, 1.0, 1.0])
    labels = np.array([0, 1, 1])  # weights 3, 1, 1: Σw = 5
    assert loss.forward(np.zeros((3, 3)), labels) == pytest.approx(math.log(3))
    assert loss.batch_weight == 5.0
    expected = np.full((3, 3), 1 / 3)
    expected[[0, 1, 2], labels] -= 1.0
    expected *= np.array([[3.0], [1.0], [1.0]]) / 5
    np.testing.assert_allclose(loss.backward(), expected)


def test_weights_move_the_loss_towards_the_rows_that_count_more():
    # two rows: one right (loss log(1 + e^-2)), one wrong (log(1 + e^2)); weighting the wrong one 3x
    z, t = np.array([[2.0], [2.0]]), np.array([1, 0])
    right, wrong = math.log1p(math.exp(-2)), math.log1p(math.exp(2))
    plain = BinaryCrossEntropyWithLogits()
    assert plain.forward(z, t) == pytest.approx((right + wrong) / 2)
    weighted = BinaryCrossEntropyWithLogits()
    assert weighted.forward(z, t, np.array([1.0, 3.0])) == pytest.approx((right + 3 * wrong) / 4)


def test_all_zero_weights_in_a_batch_give_a_zero_loss_and_gradient():
    loss = SoftmaxCrossEntropy()
    assert loss.forward(np.ones((2, 3)), np.array([0, 1]), np.zeros(2)) == 0.0
    assert not loss.backward().any() and loss.batch_weight == 0.0


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_weighted_losses_keep_float32_predictions_in_float32(name, rng):
    pred, target = _pred_and_target(name, rng)
    loss = build_loss(name)
    loss.forward(pred.astype(np.float32), target, np.ones(6))
    assert loss.backward().dtype == np.float32


def test_explain_shows_the_weighted_backward_line_with_the_class_factors():
    loss = SoftmaxCrossEntropy()
    loss.class_weights = np.array([4.5, 0.5625])
    text = loss.explain()
    assert text["backward"] == ["dz = w_y (p − onehot(t)) / Σw   (each row's gradient times its weight)"]
    assert "w = [4.5, 0.5625] by class index" in text["forward"][1]
