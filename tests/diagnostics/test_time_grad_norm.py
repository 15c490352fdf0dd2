"""Gradient flow over time: recurrent layers report |dL/dh_t| at three steps, and a streak of vanishing warns."""

from __future__ import annotations

import numpy as np

from backprop_cli.diagnostics.layer_stats import layer_stats, watch
from backprop_cli.diagnostics.rules import VANISHING_TIME_SAMPLES, Sample, WarningRules
from backprop_cli.nn.model import build_model


def rnn_sample(first, last=1.0):
    norms = {"first": first, "middle": 0.1, "last": last}
    stats = {"0": {"grad_norm": 1.0, "weight_norm": 1.0, "update_ratio": None, "dead_fraction": None,
                   "saturated_fraction": None, "time_grad_norm": norms}}  # fmt: skip
    return Sample(stats, [], [], 1.0)


def test_a_recurrent_layers_stats_carry_the_gradient_norm_at_its_first_middle_and_last_step(rng):
    model = build_model([{"type": "rnn", "units": 4}, {"type": "dense", "units": 1}], (2, 9), rng, np.float64)
    model.input_grad = False  # as in training: the rnn is the first layer, and still notes the norms
    y = model.forward(rng.standard_normal((5, 2, 9)), training=True)
    model.backward(np.ones_like(y))
    stats = layer_stats(model, watch(model), before_step=None)
    norms = stats["0"]["time_grad_norm"]
    dh_last = model.layers[1].params["W"][:, 0]  # dL/dh_L = dy · Wᵀ, the same row for every example
    assert np.isclose(norms["last"], np.sqrt(5) * np.linalg.norm(dh_last))
    assert 0 < norms["first"] and "time_grad_norm" not in stats["1"]


def test_vanishing_over_time_warns_once_after_enough_samples_in_a_row():
    rules = WarningRules()
    for _ in range(VANISHING_TIME_SAMPLES - 1):
        assert rules.check(rnn_sample(1e-5)) == []
    (message,) = rules.check(rnn_sample(1e-5))
    assert message.startswith("gradients vanish over time: in layer 0") and "lstm or gru" in message
    assert "1.0e-05" in message
    assert rules.check(rnn_sample(1e-5)) == []  # once per run


def test_an_lstm_that_learns_to_keep_its_memory_open_is_not_warned_about():
    rules = WarningRules()
    for first in [1e-5, 2e-5, 0.02, 0.01, 1e-5, 0.03, 0.02]:  # vanishing at the start, then it learns
        assert rules.check(rnn_sample(first)) == []


def test_the_streak_survives_a_resume():
    rules = WarningRules()
    rules.check(rnn_sample(1e-6))
    rules.check(rnn_sample(1e-6))
    resumed = WarningRules()
    resumed.load_state_dict(rules.state_dict())
    assert len(resumed.check(rnn_sample(1e-6))) == 1
