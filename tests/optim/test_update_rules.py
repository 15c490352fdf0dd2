"""Each optimizer against values worked out by hand on tiny problems, two or three steps (float64)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backprop_cli.optim.adam import Adam, AdamW
from backprop_cli.optim.adaptive import Adagrad, RMSprop
from backprop_cli.optim.sgd import SGD, Momentum, Nesterov


def run(opt, w, grads, lr):
    """Step `opt` once per gradient; return w after each step."""
    w = np.array(w, dtype=np.float64)
    trail = []
    for g in grads:
        opt.step([w], [np.array(g, dtype=np.float64)], lr)
        trail.append(w.copy())
    return trail


def test_sgd_moves_against_the_gradient_by_lr_times_the_gradient():
    # w1 = [1, -2] - 0.1 [0.5, 1] = [0.95, -2.1];  w2 = w1 - 0.1 [-1, 2] = [1.05, -2.3]
    trail = run(SGD(), [1.0, -2.0], [[0.5, 1.0], [-1.0, 2.0]], lr=0.1)
    np.testing.assert_allclose(trail, [[0.95, -2.1], [1.05, -2.3]])


def test_momentum_accumulates_gradients_in_pytorch_convention():
    # mu 0.9, lr 0.1, grads 1, 2, -1:
    # v1 = 1               w1 = 1 - 0.1 * 1       = 0.9
    # v2 = 0.9 * 1 + 2     = 2.9;   w2 = 0.9 - 0.29  = 0.61
    # v3 = 0.9 * 2.9 - 1   = 1.61;  w3 = 0.61 - 0.161 = 0.449
    trail = run(Momentum(momentum=0.9), [1.0], [[1.0], [2.0], [-1.0]], lr=0.1)
    np.testing.assert_allclose(trail, [[0.9], [0.61], [0.449]])
    assert Momentum(momentum=0.9).slot_names == ("v",)


def test_nesterov_steps_along_the_gradient_plus_the_new_velocity():
    # mu 0.9, lr 0.1, grads 1, 2, -1; v as for momentum, the step is lr (g + mu v):
    # v1 = 1;     g + mu v = 1 + 0.9        = 1.9;    w1 = 1 - 0.19      = 0.81
    # v2 = 2.9;   g + mu v = 2 + 2.61       = 4.61;   w2 = 0.81 - 0.461  = 0.349
    # v3 = 1.61;  g + mu v = -1 + 1.449     = 0.449;  w3 = 0.349 - 0.0449 = 0.3041
    trail = run(Nesterov(momentum=0.9), [1.0], [[1.0], [2.0], [-1.0]], lr=0.1)
    np.testing.assert_allclose(trail, [[0.81], [0.349], [0.3041]])


def test_adagrad_divides_by_the_root_of_the_summed_squares():
    # eps 0, lr 0.1. First weight, grads 3, 4:  s = 9 -> w = 1 - 0.1 * 3/3 = 0.9;  s = 25 -> w = 0.9 - 0.1 * 4/5 = 0.82
    # second weight, grads -1, 0:               s = 1 -> w = 1 + 0.1 * 1/1 = 1.1;  s = 1  -> no move (g = 0)
    trail = run(Adagrad(eps=0.0), [1.0, 1.0], [[3.0, -1.0], [4.0, 0.0]], lr=0.1)
    np.testing.assert_allclose(trail, [[0.9, 1.1], [0.82, 1.1]])


def test_adagrad_adds_eps_outside_the_square_root():
    # s = 9: w = 1 - 0.1 * 3 / (sqrt(9) + 1) = 1 - 0.075 (eps inside the root would give 3 / sqrt(10))
    (w,) = run(Adagrad(eps=1.0), [1.0], [[3.0]], lr=0.1)
    np.testing.assert_allclose(w, [0.925])


def test_rmsprop_divides_by_the_root_of_a_decaying_average_without_bias_correction():
    # rho 0.75, eps 0, lr 0.1; s <- 0.75 s + 0.25 g^2
    # first weight, grads 2, -1, 1:  s = 1, 1, 1      -> steps 0.2, -0.1, 0.1  -> w = 0.8, 0.9, 0.8
    #   (the first step is 2 lr: s starts at 0 and RMSprop does not correct for it)
    # second weight, grads 4, 2, 2:  s = 4, 3+1 = 4, 4 -> steps 0.2, 0.1, 0.1   -> w = 0.8, 0.7, 0.6
    trail = run(RMSprop(rho=0.75, eps=0.0), [1.0, 1.0], [[2.0, 4.0], [-1.0, 2.0], [1.0, 2.0]], lr=0.1)
    np.testing.assert_allclose(trail, [[0.8, 0.8], [0.9, 0.7], [0.8, 0.6]])


def test_adam_first_step_moves_each_weight_by_lr():
    # after one step m_hat = g and v_hat = g*g, so each weight moves by lr * sign(g)
    (w,) = run(Adam(eps=0.0), [1.0, 2.0, 3.0], [[0.5, -4.0, 2.0]], lr=0.1)
    np.testing.assert_allclose(w, [0.9, 2.1, 2.9])


def test_adam_moves_by_lr_every_step_under_a_constant_gradient():
    # with g constant, m_t = (1 - b1^t) g and v_t = (1 - b2^t) g^2: the corrections give m_hat = g, v_hat = g^2
    trail = run(Adam(eps=0.0), [1.0, 1.0], [[0.3, -7.0]] * 3, lr=0.1)
    np.testing.assert_allclose(trail, [[0.9, 1.1], [0.8, 1.2], [0.7, 1.3]])


def test_adam_worked_by_hand_for_three_steps():
    # b1 0.5, b2 0.75, eps 0, lr 0.1, grads 2, -1, 1:
    # t=1: m = 1,  v = 1;  m_hat = 1/0.5 = 2,      v_hat = 1/0.25 = 4;   step = 0.1 * 2/2 = 0.1   -> w = 0.9
    # t=2: m = 0.5 - 0.5 = 0 (the reversed gradient cancels the momentum), v = 0.75 + 0.25 = 1 -> no move
    # t=3: m = 0.5, v = 0.75 + 0.25 = 1;  bc1 = 1 - 0.125 = 7/8, bc2 = 1 - 0.75^3 = 37/64;
    #      m_hat = 4/7, sqrt(v_hat) = 8/sqrt(37);  step = 0.1 * (4/7) * sqrt(37)/8 = 0.1 sqrt(37)/14
    trail = run(Adam(beta1=0.5, beta2=0.75, eps=0.0), [1.0], [[2.0], [-1.0], [1.0]], lr=0.1)
    np.testing.assert_allclose(trail, [[0.9], [0.9], [0.9 - 0.1 * math.sqrt(37) / 14]])


def test_adam_adds_eps_to_the_bias_corrected_root_as_pytorch_does():
    # t=1: m_hat = 1, sqrt(v_hat) = 1: w = 1 - 0.1 * 1 / (1 + 1) = 0.95
    # (eps added to sqrt(v) before correction, as Keras does, would give a step near 0.003)
    (w,) = run(Adam(eps=1.0), [1.0], [[1.0]], lr=0.1)
    np.testing.assert_allclose(w, [0.95])


def test_adamw_decays_the_weights_before_the_adam_step():
    # wd 0.5, lr 0.1: w <- w (1 - 0.05), then Adam's first step moves each weight by lr sign(g)
    # [2, 4] -> [1.9, 3.8] -> [1.8, 3.9]
    (w,) = run(AdamW(eps=0.0, weight_decay=0.5), [2.0, 4.0], [[1.0, -1.0]], lr=0.1)
    np.testing.assert_allclose(w, [1.8, 3.9])


def test_adamw_decay_does_not_pass_through_the_moments():
    # a zero gradient leaves m = v = 0 and the Adam step 0: only the decay acts, 2 -> 2 * 0.95 -> 2 * 0.95^2
    opt = AdamW(weight_decay=0.5)
    trail = run(opt, [2.0], [[0.0], [0.0]], lr=0.1)
    np.testing.assert_allclose(trail, [[1.9], [1.805]])
    assert not opt.slots[0]["m"].any() and not opt.slots[0]["v"].any()


def test_adamw_decays_only_the_given_decay_params():
    # flat = [W (2 entries) | b (1 entry)]: only W decays, [2, 4] -> [1.9, 3.8]; then every entry moves by lr sign(g)
    flat = np.array([2.0, 4.0, 6.0])
    opt = AdamW(eps=0.0, weight_decay=0.5, decay_params=[flat[:2]])
    opt.step([flat], [np.array([1.0, -1.0, 1.0])], lr=0.1)
    np.testing.assert_allclose(flat, [1.8, 3.9, 5.9])


@pytest.mark.parametrize("cls", [SGD, Momentum, Nesterov, Adagrad, RMSprop, Adam, AdamW])
def test_every_parameter_of_a_list_gets_its_own_slots(cls):
    # two arrays stepped together move exactly as each stepped alone
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 2)), rng.standard_normal(4)
    ga, gb = rng.standard_normal((3, 2)), rng.standard_normal(4)
    together, alone_a, alone_b = cls(), cls(), cls()
    a2, b2 = a.copy(), b.copy()
    for _ in range(3):
        together.step([a, b], [ga, gb], lr=0.01)
        alone_a.step([a2], [ga], lr=0.01)
        alone_b.step([b2], [gb], lr=0.01)
    assert a.tobytes() == a2.tobytes() and b.tobytes() == b2.tobytes()
