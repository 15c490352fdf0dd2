"""The warning rules, fed hand-written samples: each fires once per run, with a suggestion."""

from __future__ import annotations

from backprop_cli.diagnostics.rules import Sample, WarningRules


def layer(grad_norm=1.0, dead=None, saturated=None):
    return {"grad_norm": grad_norm, "weight_norm": 1.0, "update_ratio": 1e-3, "dead_fraction": dead,
            "saturated_fraction": saturated}  # fmt: skip


def sample(layers, grad_norm=1.0, symmetric=(), weight_layers=None):
    names = list(layers) if weight_layers is None else weight_layers
    return Sample(layers, names, list(symmetric), grad_norm)


def test_a_healthy_sample_fires_nothing():
    rules = WarningRules()
    assert rules.check(sample({"0": layer(0.5, dead=0.1), "1": layer(0.2, saturated=0.1), "2": layer(1.0)})) == []


def test_vanishing_fires_once_for_layers_below_a_thousandth_of_the_last_layers_norm():
    rules = WarningRules()
    s = sample({"0": layer(1e-6), "1": layer(5e-4), "2": layer(2e-3), "3": layer(1.0)})
    (message,) = rules.check(s)
    assert message.startswith("vanishing gradients: the gradient norm of layers 0, 1 is below 0.001")
    assert "he_normal" in message and "residual" in message
    assert rules.check(s) == []  # once per run
    assert rules.warnings == [message]


def test_symmetric_and_dead_layers_are_explained_by_their_own_warning_not_as_vanishing():
    symmetric = WarningRules().check(sample({"0": layer(0.0), "1": layer(1.0)}, symmetric=["0"]))
    assert len(symmetric) == 1 and "identical units" in symmetric[0] and "random init" in symmetric[0]
    dead = WarningRules().check(sample({"0": layer(0.0, dead=1.0), "1": layer(1.0)}))
    assert len(dead) == 1 and dead[0].startswith("dead relu units: in layer 0") and "100%" in dead[0]


def test_exploding_fires_above_the_limit_or_after_a_hundredfold_rise():
    rules = WarningRules(exploding_grad_norm=50.0)
    assert rules.check(sample({"0": layer()}, grad_norm=0.3)) == []
    assert rules.check(sample({"0": layer()}, grad_norm=20.0)) == []
    (rise,) = rules.check(sample({"0": layer()}, grad_norm=31.0))
    assert "rose 103-fold" in rise and "grad_clip_norm" in rise
    (limit,) = WarningRules(exploding_grad_norm=50.0).check(sample({"0": layer()}, grad_norm=60.0))
    assert "above 50" in limit and "learning rate" in limit


def test_exploding_under_clipping_suggests_the_learning_rate_not_the_clipping_already_set():
    (message,) = WarningRules(exploding_grad_norm=50.0, grad_clip_norm=1.0).check(
        sample({"0": layer()}, grad_norm=60.0)
    )
    assert "lower the learning rate (regularization.grad_clip_norm is 1 already)" in message
    assert "set regularization.grad_clip_norm" not in message


def test_saturated_fires_when_most_sigmoid_activations_sit_in_the_flat_tails():
    (message,) = WarningRules().check(sample({"0": layer(saturated=0.8), "1": layer()}))
    assert message.startswith("saturated units: in layer 0") and "batchnorm" in message
    for word in ("vanish", "explod", "dead", "symmetr", "identical"):
        assert word not in message.lower()


def test_state_round_trip_keeps_what_fired_and_the_list_summary_json_shows():
    rules = WarningRules()
    rules.check(sample({"0": layer(1e-9), "1": layer(1.0)}, grad_norm=2.0))
    resumed = WarningRules()
    shown = resumed.warnings  # summary.json holds this very list
    resumed.load_state_dict(rules.state_dict())
    assert shown == rules.warnings and resumed.first_grad_norm == 2.0
    assert resumed.check(sample({"0": layer(1e-9), "1": layer(1.0)})) == []
