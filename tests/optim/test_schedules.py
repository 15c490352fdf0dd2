"""Each schedule against hand values at chosen steps; plateau fed a hand-written metric sequence."""

from __future__ import annotations

import json
import math

import pytest

from backprop_cli.errors import CheckpointError, ConfigError
from backprop_cli.optim.registry import SCHEDULES, build_schedule
from backprop_cli.optim.schedules import Plateau


def schedule(spec, base_lr=1.0, epochs=2, steps_per_epoch=3):
    return build_schedule(spec, base_lr, epochs, steps_per_epoch)


def test_constant_keeps_the_base_rate():
    s = schedule({"type": "constant"}, base_lr=0.3)
    assert [s.lr_at(step, epoch) for step, epoch in [(0, 0), (5, 1), (10_000, 99)]] == [0.3, 0.3, 0.3]


def test_step_multiplies_by_gamma_every_step_size_epochs():
    # 0.1 * 0.5 ** (epoch // 3): epochs 0-2 -> 0.1, 3-5 -> 0.05, 6 -> 0.025
    s = schedule({"type": "step", "step_size": 3, "gamma": 0.5}, base_lr=0.1)
    lrs = [s.lr_at(0, epoch) for epoch in range(7)]
    assert lrs == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025])


def test_exponential_multiplies_by_gamma_every_epoch():
    s = schedule({"type": "exponential", "gamma": 0.5}, base_lr=0.2)
    assert [s.lr_at(0, e) for e in (0, 1, 3)] == pytest.approx([0.2, 0.1, 0.025])


def test_cosine_runs_from_lr_at_the_first_step_to_min_lr_at_the_last():
    # 1 epoch of 5 steps: steps 0..4, progress s/4; lr = 0.1 + 0.9 (1 + cos(pi s/4)) / 2
    s = schedule({"type": "cosine", "min_lr": 0.1}, base_lr=1.0, epochs=1, steps_per_epoch=5)
    assert s.lr_at(0, 0) == 1.0
    assert s.lr_at(1, 0) == pytest.approx(0.1 + 0.9 * (0.5 + math.sqrt(2) / 4))  # cos(pi/4) = sqrt(2)/2
    assert s.lr_at(2, 0) == pytest.approx(0.55)  # half way: the mean of 1 and 0.1
    assert s.lr_at(4, 0) == pytest.approx(0.1)
    assert s.lr_at(50, 3) == pytest.approx(0.1)  # past the end (a longer resumed run) it stays at min_lr


def test_cosine_over_a_single_step_uses_the_base_rate():
    s = schedule({"type": "cosine"}, base_lr=0.5, epochs=1, steps_per_epoch=1)
    assert s.lr_at(0, 0) == 0.5


def test_warmup_cosine_ramps_up_linearly_then_decays_by_cosine():
    # warmup 1 epoch of 3 steps: lr/3, 2lr/3, lr; then cosine over steps 3..5: lr, lr/2, min_lr (0)
    s = schedule({"type": "warmup_cosine", "warmup_epochs": 1.0}, base_lr=0.9, epochs=2, steps_per_epoch=3)
    lrs = [s.lr_at(step, step // 3) for step in range(6)]
    assert lrs == pytest.approx([0.3, 0.6, 0.9, 0.9, 0.45, 0.0])


def test_warmup_cosine_endpoints_start_near_zero_and_end_at_min_lr():
    # a fractional warmup: 0.5 epoch of 4 steps is 2 steps; the last of 3 * 4 steps is step 11
    s = schedule({"type": "warmup_cosine", "warmup_epochs": 0.5, "min_lr": 0.01}, 0.1, epochs=3, steps_per_epoch=4)
    assert s.lr_at(0, 0) == pytest.approx(0.05)  # lr / W: small but not a wasted step at 0
    assert s.lr_at(1, 0) == pytest.approx(0.1)  # the top, at step W - 1
    assert s.lr_at(2, 0) == pytest.approx(0.1)  # the cosine starts at the top
    assert s.lr_at(11, 2) == pytest.approx(0.01)


def test_warmup_cosine_without_warmup_is_cosine():
    w = schedule({"type": "warmup_cosine", "warmup_epochs": 0.0, "min_lr": 0.2}, epochs=3, steps_per_epoch=4)
    c = schedule({"type": "cosine", "min_lr": 0.2}, epochs=3, steps_per_epoch=4)
    assert [w.lr_at(i, 0) for i in range(12)] == [c.lr_at(i, 0) for i in range(12)]


def test_cosine_with_warmup_epochs_is_the_warmup_cosine_alias():
    a = schedule({"type": "cosine", "warmup_epochs": 1.0}, base_lr=0.9, epochs=2, steps_per_epoch=3)
    b = schedule({"type": "warmup_cosine"}, base_lr=0.9, epochs=2, steps_per_epoch=3)  # one epoch by default
    assert [a.lr_at(i, i // 3) for i in range(6)] == [b.lr_at(i, i // 3) for i in range(6)]
    assert [a.lr_at(i, i // 3) for i in range(6)] == pytest.approx([0.3, 0.6, 0.9, 0.9, 0.45, 0.0])


def test_warmup_steps_ramp_in_front_of_a_constant_rate():
    # W = 4: lr/4, 2lr/4, 3lr/4, lr, then lr for ever
    s = schedule({"type": "constant", "warmup_steps": 4}, base_lr=0.8, epochs=3, steps_per_epoch=3)
    assert [s.lr_at(i, i // 3) for i in range(6)] == pytest.approx([0.2, 0.4, 0.6, 0.8, 0.8, 0.8])


def test_warmup_scales_an_epoch_rule_without_shifting_its_epochs():
    # step decay halves at every epoch (2 steps each); W = 3 steps: epoch 0 at 0.1 times 1/3 and 2/3,
    # epoch 1 at 0.05 times 3/3, then 0.05, then epoch 2 at 0.025
    s = schedule(
        {"type": "step", "step_size": 1, "gamma": 0.5, "warmup_steps": 3}, base_lr=0.1, epochs=3, steps_per_epoch=2
    )
    assert [s.lr_at(i, i // 2) for i in range(5)] == pytest.approx([0.1 / 3, 0.2 / 3, 0.05, 0.05, 0.025])


def test_warmup_scales_the_plateau_rate_too():
    s = schedule({"type": "plateau", "factor": 0.5, "patience": 1, "warmup_steps": 2}, base_lr=1.0)
    s.observe(0, {"val_loss": 1.0})
    s.observe(1, {"val_loss": 2.0})  # no improvement: halved
    assert [s.lr_at(0, 2), s.lr_at(1, 2), s.lr_at(2, 2)] == pytest.approx([0.25, 0.5, 0.5])


def test_warmup_epochs_and_warmup_steps_together_are_a_config_error():
    with pytest.raises(ConfigError) as err:
        schedule({"type": "cosine", "warmup_epochs": 1, "warmup_steps": 3})
    assert "not both" in err.value.what


def test_one_cycle_rises_to_max_lr_then_falls_to_its_floor_as_pytorch_does():
    # 2 epochs of 4 steps, pct_start 0.25: the peak at step 0.25 * 8 - 1 = 1; start max/25 = 0.04,
    # floor 0.04 / 1e4 = 4e-6 at step 7; half way down (step 4, progress 3/6) the mean of max and floor
    s = schedule({"type": "one_cycle", "max_lr": 1.0, "pct_start": 0.25}, base_lr=0.5, epochs=2, steps_per_epoch=4)
    assert s.lr_at(0, 0) == pytest.approx(0.04)
    assert s.lr_at(1, 0) == pytest.approx(1.0)
    assert s.lr_at(4, 1) == pytest.approx((1.0 + 4e-6) / 2)
    assert s.lr_at(7, 1) == pytest.approx(4e-6)
    # step 2: progress 1/6 of the way down, cos(pi/6) = sqrt(3)/2
    assert s.lr_at(2, 0) == pytest.approx(4e-6 + (1.0 - 4e-6) * (1 + math.sqrt(3) / 2) / 2)


def test_one_cycle_peaks_at_the_optimizer_lr_unless_given_max_lr():
    s = schedule({"type": "one_cycle", "pct_start": 0.5}, base_lr=0.3, epochs=1, steps_per_epoch=6)  # peak: step 2
    assert [s.lr_at(i, 0) for i in range(6)].index(0.3) == 2


def test_min_lr_above_the_base_rate_is_a_config_error():
    with pytest.raises(ConfigError) as err:
        schedule({"type": "cosine", "min_lr": 2.0}, base_lr=1.0)
    assert err.value.where == "schedule.min_lr"


def feed(s, monitor, values):
    """Observe one value per epoch; return (epochs where it reduced, lr after each epoch)."""
    reduced, lrs = [], []
    for epoch, value in enumerate(values):
        if s.observe(epoch, {monitor: value}):
            reduced.append(epoch)
        lrs.append(s.lr_at(0, epoch + 1))
    return reduced, lrs


def test_plateau_halves_the_rate_after_patience_epochs_without_improvement():
    # best 1.0, 0.8; epoch 2 ties 0.8 (a tie is no improvement) and epoch 3 is worse: 2 bad epochs -> halve;
    # the count restarts, the best stays 0.8; epoch 5 improves (0.7); epochs 6, 7 are worse -> halve again
    s = schedule({"type": "plateau", "patience": 2, "factor": 0.5})
    reduced, lrs = feed(s, "val_loss", [1.0, 0.8, 0.8, 0.9, 0.85, 0.7, 0.75, 0.76, 0.77])
    assert reduced == [3, 7]
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25]


def test_plateau_counts_only_improvements_larger_than_min_delta():
    # min_delta 0.1: from 1.0, 0.95 is no improvement, 0.85 is
    s = schedule({"type": "plateau", "patience": 2, "min_delta": 0.1, "factor": 0.5})
    reduced, _ = feed(s, "val_loss", [1.0, 0.95, 0.85, 0.8, 0.78])
    assert reduced == [4]  # 0.8 and 0.78 are within 0.1 of the best 0.85


def test_plateau_watches_accuracies_for_a_rise():
    s = schedule({"type": "plateau", "monitor": "val_accuracy", "patience": 2, "factor": 0.5})
    reduced, _ = feed(s, "val_accuracy", [0.5, 0.6, 0.55, 0.58, 0.7])
    assert reduced == [3]


def test_plateau_counts_nan_as_no_improvement():
    s = schedule({"type": "plateau", "patience": 1, "factor": 0.5})
    reduced, _ = feed(s, "val_loss", [float("nan"), 1.0, float("nan")])
    assert reduced == [0, 2] and s.best == 1.0


@pytest.mark.parametrize("patience", [0, 1])
def test_plateau_with_patience_zero_or_one_reduces_at_every_epoch_without_improvement(patience):
    s = schedule({"type": "plateau", "monitor": "train_loss", "patience": patience, "factor": 0.5})
    reduced, _ = feed(s, "train_loss", [1.0, 1.0, 0.5, 0.6])
    assert reduced == [1, 3]


def test_plateau_never_goes_below_min_lr_and_says_when_it_cannot_reduce():
    # factor 0.1, min_lr 0.05: 1 -> 0.1 -> 0.05 (clamped) -> stays; the third call reports no change
    s = schedule({"type": "plateau", "patience": 1, "factor": 0.1, "min_lr": 0.05})
    reduced, lrs = feed(s, "val_loss", [1.0, 1.0, 1.0, 1.0])
    assert reduced == [1, 2]
    assert lrs == pytest.approx([1.0, 0.1, 0.05, 0.05])


def test_plateau_without_its_metric_is_a_config_error_at_schedule_monitor():
    s = schedule({"type": "plateau"})
    for logs in ({"train_loss": 1.0}, {"val_loss": None}):
        with pytest.raises(ConfigError) as err:
            s.observe(0, logs)
        assert err.value.where == "schedule.monitor"


def test_plateau_resumes_exactly_from_its_json_state():
    values = [1.0, 0.9, 0.95, 0.97, 0.91, 0.8, 0.85, 0.86, 0.87, 0.88]
    spec = {"type": "plateau", "patience": 2, "factor": 0.3}
    straight = schedule(spec)
    expected = feed(straight, "val_loss", values)

    first = schedule(spec)
    head = feed(first, "val_loss", values[:4])
    state = json.loads(json.dumps(first.state_dict()))  # as it travels in the checkpoint's metadata
    second = schedule(spec)
    second.load_state_dict(state)
    tail = feed(second, "val_loss", values[4:])
    assert head[1] + tail[1] == expected[1]
    assert head[0] + [e + 4 for e in tail[0]] == expected[0]


def test_plateau_state_before_any_epoch_is_json():
    assert json.loads(json.dumps(Plateau(0.1, 3, 5).state_dict())) == {"scale": 1.0, "best": None, "wait": 0}


@pytest.mark.parametrize("name", sorted(set(SCHEDULES) - {"plateau"}))
def test_pure_schedules_have_an_empty_state_and_ignore_metrics(name):
    s = schedule({"type": name})
    assert s.state_dict() == {}
    s.load_state_dict({})
    assert s.observe(0, {"val_loss": 1.0}) is False
    with pytest.raises(CheckpointError):
        s.load_state_dict({"scale": 0.5})


def test_the_formula_shown_by_explain_names_the_warmup():
    s = schedule({"type": "cosine", "warmup_steps": 2}, base_lr=0.9, epochs=2, steps_per_epoch=3)
    assert s.formula().endswith("times (s + 1)/2 for s < 2 (the warmup)")
    assert "(s − 2)" in s.formula()
    assert "warmup" not in schedule({"type": "cosine"}).formula()
