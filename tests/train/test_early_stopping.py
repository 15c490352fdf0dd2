"""Early stopping and best-tracking, fed hand-written metric sequences."""

from __future__ import annotations

import pytest

from backprop_cli.train.early_stopping import EarlyStopping
from backprop_cli.train.improvement import Improvement


class FakeTrainer:
    """Only what a callback touches: the stop request."""

    def __init__(self, epochs=100):
        self.stop_reason = None
        self.status = "running"
        self.epochs = epochs  # the configured budget

    def request_stop(self, reason, status):
        self.stop_reason, self.status = reason, status


def run(callback, values, key="val_loss"):
    trainer = FakeTrainer()
    for epoch, value in enumerate(values, start=1):
        callback.on_epoch_end(trainer, {"epoch": epoch, key: value})
        if trainer.stop_reason:
            return epoch, trainer
    return None, trainer


@pytest.mark.parametrize("patience, stops_at", [(1, 4), (2, 5), (3, 6), (4, None)])
def test_early_stopping_counts_epochs_without_improvement(patience, stops_at):
    losses = [1.0, 0.8, 0.7, 0.75, 0.72, 0.71]  # best at epoch 3, then three worse epochs
    epoch, trainer = run(EarlyStopping(patience=patience), losses)
    assert epoch == stops_at
    if stops_at:
        assert trainer.status == "early_stopped" and "best 0.7 at epoch 3" in trainer.stop_reason


def test_patience_running_out_at_the_last_configured_epoch_is_no_early_stop():
    callback, trainer = EarlyStopping(patience=1), FakeTrainer(epochs=3)
    for epoch, value in enumerate([1.0, 0.9, 0.95], start=1):
        callback.on_epoch_end(trainer, {"epoch": epoch, "val_loss": value})
    assert trainer.stop_reason is None  # the run ends there anyway: `completed`, not early_stopped 3/3
    early = FakeTrainer(epochs=4)
    run_to = [callback.on_epoch_end(early, {"epoch": e, "val_loss": v}) for e, v in [(3, 0.95)]]
    assert run_to == [None] and early.status == "early_stopped"


def test_patience_zero_stops_at_the_first_epoch_that_does_not_improve():
    assert run(EarlyStopping(patience=0), [1.0, 0.9, 0.95])[0] == 3


def test_min_delta_counts_a_tiny_gain_as_no_gain():
    epoch, _ = run(EarlyStopping(patience=2, min_delta=0.05), [1.0, 0.99, 0.98, 0.97])
    assert epoch == 3  # 0.99 and 0.98 are within 0.05 of 1.0


def test_accuracy_is_maximised_in_auto_mode():
    epoch, _ = run(EarlyStopping(monitor="val_accuracy", patience=1), [0.5, 0.6, 0.55], key="val_accuracy")
    assert epoch == 3


def test_a_missing_or_nan_metric_never_counts_as_an_improvement():
    tracker = Improvement("val_loss")
    assert tracker.update(None, 1) is False
    assert tracker.update(float("nan"), 2) is False
    assert tracker.update(0.5, 3) is True and tracker.best_epoch == 3


def test_the_state_survives_a_round_trip_so_a_resume_continues_counting():
    first = EarlyStopping(patience=3)
    run(first, [1.0, 0.9, 1.1])  # one epoch without improvement so far
    second = EarlyStopping(patience=3)
    second.load_state_dict(first.state_dict())
    trainer = FakeTrainer()
    for epoch, value in [(4, 1.2), (5, 1.3)]:
        second.on_epoch_end(trainer, {"epoch": epoch, "val_loss": value})
    assert trainer.status == "early_stopped"


def test_a_baseline_never_beaten_stops_after_patience_epochs():
    # improving 1.0 -> 0.8 -> 0.7, but never below the baseline 0.5: every epoch counts against patience
    epoch, trainer = run(EarlyStopping(patience=3, baseline=0.5), [1.0, 0.8, 0.7, 0.6])
    assert epoch == 3
    assert "baseline 0.5" in trainer.stop_reason


def test_once_past_the_baseline_patience_counts_from_the_last_improvement():
    # 0.6 is past nothing, 0.4 beats the baseline 0.5 (wait 0), then two epochs without improvement
    epoch, _ = run(EarlyStopping(patience=2, baseline=0.5), [0.6, 0.4, 0.45, 0.41, 0.3])
    assert epoch == 4


def test_start_from_epoch_ignores_the_first_epochs_entirely():
    # epochs 1 and 2 are not watched: their 0.1 is neither the best nor a reason to wait; from epoch 3
    # the best is 0.9 (epoch 3), and 1.0, 1.1 are two epochs without improvement
    es = EarlyStopping(patience=2, start_from_epoch=2)
    epoch, trainer = run(es, [0.1, 0.1, 0.9, 1.0, 1.1])
    assert epoch == 5 and "best 0.9 at epoch 3" in trainer.stop_reason
    assert run(EarlyStopping(patience=2), [0.1, 0.1, 0.9, 1.0, 1.1])[0] == 3  # without it: at epoch 3


def test_divergence_threshold_stops_at_once_whatever_the_patience():
    epoch, trainer = run(EarlyStopping(patience=100, divergence_threshold=5.0), [2.0, 1.0, 5.0, 5.5, 0.5])
    assert epoch == 4  # 5.0 is not worse than 5.0; 5.5 is
    assert "5.5" in trainer.stop_reason and "divergence_threshold 5" in trainer.stop_reason


def test_divergence_threshold_of_an_accuracy_is_a_floor():
    es = EarlyStopping(monitor="val_accuracy", patience=100, divergence_threshold=0.2)
    assert run(es, [0.5, 0.3, 0.1], key="val_accuracy")[0] == 3


def test_a_metric_never_computed_stops_with_a_message_not_a_crash():
    epoch, trainer = run(EarlyStopping(patience=2), [None, None])
    assert epoch == 2 and "not been computed" in trainer.stop_reason
