"""L1/L2 penalties and gradient clipping against hand values; in place, in the arrays' own dtype."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.optim.regularization import add_penalties, clip_by_global_norm, clip_by_value, global_norm


def arrays():
    return np.array([1.0, -2.0, 0.0]), np.array([0.5, 0.5, 0.5])


@pytest.mark.parametrize(
    "l1, l2, grad, penalty",
    [
        # l1 sign(w) = 0.1 [1, -1, 0];  penalty 0.1 (1 + 2 + 0) = 0.3
        (0.1, 0.0, [0.6, 0.4, 0.5], 0.3),
        # l2 w = 0.2 [1, -2, 0];  penalty 0.5 * 0.2 * (1 + 4) = 0.5
        (0.0, 0.2, [0.7, 0.1, 0.5], 0.5),
        (0.1, 0.2, [0.8, 0.0, 0.5], 0.8),
        (0.0, 0.0, [0.5, 0.5, 0.5], 0.0),
    ],
)
def test_penalties_add_l1_sign_and_l2_w_to_the_gradient_and_return_their_value(l1, l2, grad, penalty):
    w, g = arrays()
    assert add_penalties(w, g, l1, l2) == pytest.approx(penalty)
    np.testing.assert_allclose(g, grad)
    np.testing.assert_array_equal(w, [1.0, -2.0, 0.0])  # the weights themselves are untouched


def test_the_penalty_gradient_is_the_derivative_of_the_returned_penalty(rng):
    # central differences of the returned value, float64, away from w = 0 where |w| has a kink
    w = rng.uniform(0.5, 2.0, 5) * rng.choice([-1.0, 1.0], 5)
    l1, l2, h = 0.3, 0.7, 1e-6
    g = np.zeros_like(w)
    add_penalties(w, g, l1, l2)
    numeric = np.empty_like(w)
    for i in range(w.size):
        up, down = w.copy(), w.copy()
        up[i] += h
        down[i] -= h
        numeric[i] = (add_penalties(up, np.zeros(5), l1, l2) - add_penalties(down, np.zeros(5), l1, l2)) / (2 * h)
    np.testing.assert_allclose(g, numeric, rtol=1e-6)


def test_penalties_keep_float32_and_use_the_callers_scratch():
    w = np.array([1.0, -2.0, 0.0], np.float32)
    g = np.full(3, 0.5, np.float32)
    scratch = np.empty(10, np.float32)
    assert add_penalties(w, g, 0.1, 0.2, scratch=scratch) == pytest.approx(0.8)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, [0.8, 0.0, 0.5], atol=1e-7)


def test_penalties_accept_lists_of_arrays():
    ws = [np.array([[1.0]]), np.array([-2.0, 0.0])]
    gs = [np.zeros((1, 1)), np.zeros(2)]
    assert add_penalties(ws, gs, 0.0, 1.0) == pytest.approx(2.5)  # 0.5 (1 + 4)
    np.testing.assert_allclose(gs[1], [-2.0, 0.0])


def test_global_norm_is_taken_over_every_array():
    assert global_norm([np.array([1.0, 2.0]), np.array([[2.0]])]) == pytest.approx(3.0)  # sqrt(1 + 4 + 4)


def test_clipping_by_global_norm_rescales_to_max_norm_and_returns_the_norm_before():
    # |[3, 4]| = 5 > 1: scaled by 1/5 to [0.6, 0.8]
    g = np.array([3.0, 4.0], np.float32)
    assert clip_by_global_norm(g, 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(g, [0.6, 0.8], rtol=1e-6)
    assert g.dtype == np.float32


def test_clipping_by_global_norm_scales_all_arrays_together():
    gs = [np.array([3.0]), np.array([[4.0]])]
    clip_by_global_norm(gs, 2.5)  # norm 5 -> scale 0.5
    np.testing.assert_allclose(np.concatenate([g.ravel() for g in gs]), [1.5, 2.0])


def test_gradients_within_the_norm_are_left_alone():
    g = np.array([0.3, 0.4])
    assert clip_by_global_norm(g, 1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(g, [0.3, 0.4])


def test_a_nonfinite_norm_leaves_the_gradients_for_the_nan_guard():
    g = np.array([np.inf, 1.0])
    assert clip_by_global_norm(g, 1.0) == np.inf
    np.testing.assert_array_equal(g, [np.inf, 1.0])


def test_clipping_by_value_clamps_each_entry_in_place():
    g = np.array([-3.0, 0.5, 2.0, np.nan], np.float32)
    clip_by_value(g, 1.0)
    np.testing.assert_array_equal(g, np.array([-1.0, 0.5, 1.0, np.nan], np.float32))
    assert g.dtype == np.float32
