"""Early stopping: stop when the monitored metric has not improved for `patience` epochs.

Variants (Keras' and Lightning's keys): `baseline` (an epoch counts as an improvement only if it also
beats the baseline, so a run that never gets past it stops after `patience` epochs), `start_from_epoch`
(the first epochs are not watched at all: warmup noise neither sets the best nor uses up patience), and
`divergence_threshold` (stop at once when the metric is worse than it: no point waiting out patience).
"""

from __future__ import annotations

import math

from backprop_cli.train.callbacks import Callback
from backprop_cli.train.improvement import Improvement


class EarlyStopping(Callback):
    name = "early_stopping"

    def __init__(
        self,
        monitor: str = "val_loss",
        mode: str = "auto",
        patience: int = 5,
        min_delta: float = 0.0,
        baseline: float | None = None,
        start_from_epoch: int = 0,
        divergence_threshold: float | None = None,
    ):
        self.tracker = Improvement(monitor, mode, min_delta)
        self.patience = patience
        self.baseline = baseline
        self.start_from_epoch = start_from_epoch
        self.divergence_threshold = divergence_threshold
        self.wait = 0

    def on_epoch_end(self, trainer, logs: dict) -> None:
        if logs["epoch"] <= self.start_from_epoch:
            return
        value = logs.get(self.tracker.monitor)
        last = logs["epoch"] >= trainer.epochs  # the last epoch ends the run anyway: it is then `completed`,
        # not early_stopped (the best weights are still restored)
        if self._diverged(value) and not last:
            trainer.request_stop(
                f"{self.tracker.monitor} is {value:.6g}, worse than divergence_threshold {self.divergence_threshold:g}",
                "early_stopped",
            )
            return
        improved = self.tracker.update(value, logs["epoch"])
        if improved and self._beats_baseline(value):
            self.wait = 0
            return
        self.wait += 1
        if self.wait >= self.patience and not last:
            trainer.request_stop(self._reason(), "early_stopped")

    def _beats_baseline(self, value: float) -> bool:
        return self.baseline is None or self.tracker.beats(value, self.baseline)

    def _diverged(self, value: float | None) -> bool:
        if self.divergence_threshold is None or value is None or not math.isfinite(value):
            return False
        return self.tracker.beats(self.divergence_threshold, value, min_delta=0.0)

    def _reason(self) -> str:
        monitor, best = self.tracker.monitor, self.tracker.best
        if best is not None and not self._beats_baseline(best):
            return f"{monitor} has not beaten baseline {self.baseline:g} in {self.wait} epochs (best {best:.6g})"
        if best is None:
            return f"{monitor} has not been computed for {self.wait} epochs"
        return f"{monitor} has not improved for {self.wait} epochs (best {best:.6g} at epoch {self.tracker.best_epoch})"

    def state_dict(self) -> dict:
        return {"wait": self.wait, **self.tracker.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.wait = state["wait"]
        self.tracker.load_state_dict(state)
