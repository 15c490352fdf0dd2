"""Reduce-on-plateau as a callback: the schedule owns the rule, this feeds it each epoch's metrics."""

from __future__ import annotations

from backprop_cli.train.callbacks import Callback


class PlateauFeeder(Callback):
    name = "plateau"

    def __init__(self, schedule):
        self.schedule = schedule

    def on_epoch_end(self, trainer, logs: dict) -> None:
        self.schedule.observe(logs["epoch"] - 1, logs)
