"""Deciding whether a monitored metric improved: shared by early stopping, best checkpoints and plateau."""

from __future__ import annotations

import math


def resolve_mode(monitor: str, mode: str = "auto") -> str:
    """Accuracies are maximised, losses minimised."""
    if mode != "auto":
        return mode
    return "max" if "accuracy" in monitor else "min"


class Improvement:
    """Tracks the best value of one metric; `update` says whether the new value beats it by min_delta."""

    def __init__(self, monitor: str, mode: str = "auto", min_delta: float = 0.0):
        self.monitor = monitor
        self.mode = resolve_mode(monitor, mode)
        self.min_delta = min_delta
        self.best: float | None = None
        self.best_epoch: int | None = None

    def update(self, value: float | None, epoch: int) -> bool:
        if value is None or not math.isfinite(value):
            return False
        if self.best is None or self.beats(value, self.best):
            self.best, self.best_epoch = value, epoch
            return True
        return False

    def beats(self, value: float, other: float, min_delta: float | None = None) -> bool:
        """Whether `value` is better than `other` by more than min_delta (the tracker's, unless given)."""
        delta = self.min_delta if min_delta is None else min_delta
        if self.mode == "min":
            return value < other - delta
        return value > other + delta

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.best_epoch = state.get("best"), state.get("best_epoch")
