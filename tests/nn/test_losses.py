"""Losses: exact gradients, hand-worked values, stability at ±1e4 logits, and a fit check against the model."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from backprop_cli.config.schema import LOSS_NAMES, LossConfig
from backprop_cli.errors import ConfigError
from backprop_cli.nn.core.activations import Linear
from backprop_cli.nn.losses import (
    LOSSES,
    MAE,
    MSE,
    BinaryCrossEntropyWithLogits,
    Huber,
    SoftmaxCrossEntropy,
    build_loss,
)


def test_the_loss_table_holds_every_name_the_config_accepts():
    assert set(LOSSES) == set(LOSS_NAMES)


def _pred_and_target(name, rng):
    if name == "cross_entropy":
        return rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    if name == "binary_cross_entropy":
        return rng.standard_normal((5, 1)), rng.integers(0, 2, 5)
    return rng.standard_normal((5, 2)), rng.standard_normal((5, 2))


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_every_loss_backpropagates_the_gradient_of_its_batch_mean(name, rng, gradients_match):
    pred, target = _pred_and_target(name, rng)
    # through an identity layer, the input gradient "x" is exactly dL/dpred
    gradients_match(Linear(), pred, rng, loss=build_loss(name), target=target)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_every_loss_returns_a_python_float_and_a_gradient_shaped_like_the_prediction(name, rng):
    pred, target = _pred_and_target(name, rng)
    loss = build_loss(name)
    assert type(loss.forward(pred, target)) is float
    assert loss.backward().shape == pred.shape


def test_cross_entropy_of_equal_logits_is_log_of_the_class_count():
    loss = SoftmaxCrossEntropy()
    assert loss.forward(np.zeros((3, 4)), np.array([0, 1, 3])) == pytest.approx(math.log(4))
    # dL/dz = (softmax - onehot) / N = (1/4 - [label]) / 3
    expected = np.full((3, 4), 0.25 / 3)
    expected[[0, 1, 2], [0, 1, 3]] -= 1 / 3
    np.testing.assert_allclose(loss.backward(), expected)


def test_binary_cross_entropy_of_a_zero_logit_is_log_two_for_either_label():
    loss = BinaryCrossEntropyWithLogits()
    assert loss.forward(np.zeros((2, 1)), np.array([0, 1])) == pytest.approx(math.log(2))
    np.testing.assert_allclose(loss.backward(), [[0.25], [-0.25]])  # (sigmoid(0) - t) / N


def test_binary_cross_entropy_accepts_targets_shaped_n_or_n_by_one():
    pred = np.array([[0.3], [-1.2]])
    flat = BinaryCrossEntropyWithLogits().forward(pred, np.array([1, 0]))
    column = BinaryCrossEntropyWithLogits().forward(pred, np.array([[1.0], [0.0]]))
    assert flat == column


def test_regression_losses_match_values_worked_out_by_hand():
    pred, target = np.array([[1.0], [2.0], [5.0]]), np.array([[0.0], [2.0], [2.0]])  # residuals 1, 0, 3
    assert MSE().forward(pred, target) == pytest.approx((1 + 0 + 9) / 3)
    assert MAE().forward(pred, target) == pytest.approx((1 + 0 + 3) / 3)
    # huber, delta 2: 0.5*1^2, 0, 2*(3 - 1)
    assert Huber(delta=2.0).forward(pred, target) == pytest.approx((0.5 + 0 + 4) / 3)


def test_mae_takes_the_zero_subgradient_where_the_residual_is_zero():
    loss = MAE()
    loss.forward(np.array([[1.0], [2.0]]), np.array([[1.0], [0.0]]))
    np.testing.assert_array_equal(loss.backward(), [[0.0], [0.5]])


def test_huber_is_half_the_squared_error_inside_delta_and_linear_outside():
    huber = Huber(delta=1.0)
    huber.forward(np.array([[0.5], [4.0]]), np.zeros((2, 1)))
    np.testing.assert_allclose(huber.backward(), [[0.25], [0.5]])  # clip(r, -1, 1) / N


def test_regression_targets_of_shape_n_fit_a_single_output():
    assert MSE().forward(np.array([[1.0], [3.0]]), np.array([0.0, 1.0])) == pytest.approx((1 + 4) / 2)


logits_1e4 = arrays(np.float64, (4, 3), elements=st.floats(-1e4, 1e4, allow_nan=False))


@settings(max_examples=60, deadline=None)
@given(logits=logits_1e4, labels=arrays(np.int64, 4, elements=st.integers(0, 2)))
def test_cross_entropy_stays_finite_for_logits_up_to_1e4(logits, labels):
    loss = SoftmaxCrossEntropy()
    value = loss.forward(logits, labels)
    grad = loss.backward()
    assert math.isfinite(value) and value >= 0
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-12)  # softmax - onehot sums to zero


@settings(max_examples=60, deadline=None)
@given(
    logits=arrays(np.float64, (4, 1), elements=st.floats(-1e4, 1e4)),
    labels=arrays(np.int64, 4, elements=st.integers(0, 1)),
)
def test_binary_cross_entropy_stays_finite_for_logits_up_to_1e4(logits, labels):
    loss = BinaryCrossEntropyWithLogits()
    value = loss.forward(logits, labels)
    assert math.isfinite(value) and value >= 0
    assert np.all(np.isfinite(loss.backward()))


def test_confidently_wrong_logits_cost_their_margin_exactly():
    assert SoftmaxCrossEntropy().forward(np.array([[1e4, -1e4]]), np.array([1])) == pytest.approx(2e4)
    assert BinaryCrossEntropyWithLogits().forward(np.array([[-1e4]]), np.array([1])) == pytest.approx(1e4)


def test_link_gives_class_probabilities_for_classification_and_values_for_regression(rng):
    logits = rng.standard_normal((5, 3))
    np.testing.assert_allclose(SoftmaxCrossEntropy().link(logits).sum(axis=1), 1.0)
    p = BinaryCrossEntropyWithLogits().link(np.array([[0.0], [50.0]]))
    np.testing.assert_allclose(p, [[0.5, 0.5], [0.0, 1.0]], atol=1e-12)
    assert MSE().link(logits) is logits


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_losses_keep_float32_predictions_in_float32(name, rng):
    pred, target = _pred_and_target(name, rng)
    loss = build_loss(name)
    loss.forward(pred.astype(np.float32), target)
    assert loss.backward().dtype == np.float32


def test_build_loss_accepts_a_name_a_dict_or_a_loss_config():
    assert isinstance(build_loss("mse"), MSE)
    assert build_loss({"type": "huber", "delta": 2.5}).delta == 2.5
    assert build_loss(LossConfig(type="huber", delta=0.5)).delta == 0.5


def test_an_unknown_loss_name_is_a_config_error_with_a_suggestion():
    with pytest.raises(ConfigError) as info:
        build_loss("hubber")
    assert info.value.where == "loss.type" and info.value.fix == "did you mean 'huber'?"


def test_a_bad_loss_parameter_is_a_config_error_at_its_key_path():
    with pytest.raises(ConfigError) as info:
        build_loss({"type": "huber", "delta": -1.0})
    assert info.value.where == "loss.delta" and "must be > 0 (got -1.0)" in info.value.what


@pytest.mark.parametrize(
    "name, output_shape, n_classes, n_targets, fix_says",
    [
        ("cross_entropy", (3,), 10, None, "units to 10"),
        ("cross_entropy", (1,), None, None, "binary_cross_entropy"),
        ("cross_entropy", (2, 4, 4), 10, None, "flatten"),
        ("binary_cross_entropy", (2,), 2, None, "units to 1"),
        ("binary_cross_entropy", (1,), 5, None, "cross_entropy with a last dense layer of 5 units"),
        ("mse", (3,), None, 1, "units to 1"),
        ("huber", (1,), 10, None, "cross_entropy"),
    ],
)
def test_a_loss_that_cannot_fit_the_models_output_says_which_units_to_use(
    name, output_shape, n_classes, n_targets, fix_says
):
    with pytest.raises(ConfigError) as info:
        build_loss(name).check_output(output_shape, n_classes, n_targets=n_targets)
    assert info.value.where == "model.layers"
    assert fix_says in info.value.fix


@pytest.mark.parametrize(
    "name, output_shape, n_classes, n_targets",
    [
        ("cross_entropy", (10,), 10, None),
        ("binary_cross_entropy", (1,), 2, None),
        ("mse", (3,), None, 3),
        ("mae", (1,), None, None),
    ],
)
def test_a_loss_that_fits_the_models_output_passes_the_check(name, output_shape, n_classes, n_targets):
    build_loss(name).check_output(output_shape, n_classes, n_targets=n_targets)


# ---- label smoothing: targets (1 − ε)·onehot + ε/K -----------------------------------------------------
@pytest.mark.parametrize(
    "name, pred_shape, labels",
    [("cross_entropy", (5, 4), (5,)), ("cross_entropy", (3, 4, 6), (3, 6)), ("binary_cross_entropy", (5, 1), (5,))],
    ids=["rows", "every-step", "binary"],
)
def test_label_smoothing_backpropagates_the_gradient_of_its_loss(name, pred_shape, labels, rng, gradients_match):
    pred = rng.standard_normal(pred_shape)
    target = rng.integers(0, 2 if name == "binary_cross_entropy" else pred_shape[1], labels)
    loss = build_loss({"type": name, "label_smoothing": 0.1})
    gradients_match(Linear(), pred, rng, loss=loss, target=target)


def test_label_smoothing_values_worked_out_by_hand():
    # z = [0, ln 3]: p = [1/4, 3/4]; label 0, ε = 0.2, K = 2: q = [0.8 + 0.1, 0.1] = [0.9, 0.1]
    loss = SoftmaxCrossEntropy(label_smoothing=0.2)
    z = np.array([[0.0, math.log(3.0)]])
    assert loss.forward(z, np.array([0])) == pytest.approx(-(0.9 * math.log(0.25) + 0.1 * math.log(0.75)))
    np.testing.assert_allclose(loss.backward(), [[0.25 - 0.9, 0.75 - 0.1]])  # p − q


def test_label_smoothing_of_equal_logits_moves_eps_over_k_to_every_class():
    # K = 4, ε = 0.2, N = 2: p = 1/4; q = 0.05 everywhere plus 0.8 at the label; dz = (p − q) / 2
    loss = SoftmaxCrossEntropy(label_smoothing=0.2)
    assert loss.forward(np.zeros((2, 4)), np.array([0, 3])) == pytest.approx(math.log(4))
    np.testing.assert_allclose(loss.backward(), [[-0.3, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, -0.3]])


def test_binary_label_smoothing_pulls_the_targets_towards_one_half():
    # ε = 0.2: targets 0 and 1 become 0.1 and 0.9; at z = 0, σ = 1/2, so dz = (0.5 − t') / N
    loss = BinaryCrossEntropyWithLogits(label_smoothing=0.2)
    assert loss.forward(np.zeros((2, 1)), np.array([0, 1])) == pytest.approx(math.log(2))
    np.testing.assert_allclose(loss.backward(), [[0.2], [-0.2]])


def test_explain_shows_the_smoothed_targets():
    text = " ".join(build_loss({"type": "cross_entropy", "label_smoothing": 0.1}).explain()["forward"])
    assert "q = 0.9·onehot(t) + 0.1/K" in text
    assert "dz = (p − q) / N" in build_loss({"type": "cross_entropy", "label_smoothing": 0.1}).explain()["backward"][0]


def test_label_smoothing_on_a_regression_loss_is_a_config_error():
    with pytest.raises(ConfigError) as err:
        build_loss({"type": "mse", "label_smoothing": 0.1})
    assert "regression loss" in str(err.value)


def test_a_checkpoints_loss_config_without_label_smoothing_builds_the_plain_loss():
    loss = build_loss({"type": "cross_entropy", "delta": 1.0}, resolved=True)
    assert loss.label_smoothing == 0.0
    assert (
        build_loss({"type": "cross_entropy", "delta": 1.0, "label_smoothing": 0.1}, resolved=True).label_smoothing
        == 0.1
    )
