"""The gradient-flow monitor: per-layer statistics in each epoch's record, and warnings once per run.

Per step it compares two integers. It samples the last step of each epoch (and, if asked, every
N-th step): norms over the flat buffers and reductions over the activation caches that step left
(see diagnostics.layer_stats); for the update ratio it copies the parameters once, one step before.
It must run before the checkpointer, which writes `logs` to metrics.jsonl.
"""

from __future__ import annotations

import numpy as np

from backprop_cli.diagnostics.layer_stats import identical_units, layer_stats, watch
from backprop_cli.diagnostics.rules import Sample, WarningRules
from backprop_cli.train.callbacks import Callback


def next_step_sampled(trainer, batches: int, every: int | None) -> bool:
    """Whether the step about to run is one the monitor samples: its epoch's last, or every N-th if asked."""
    return trainer.batch_in_epoch == batches - 1 or bool(every and (trainer.step + 1) % every == 0)


class GradientMonitor(Callback):
    """logs["layers"] = {layer: {grad_norm, weight_norm, update_ratio, dead_fraction, saturated_fraction}};
    logs["warnings"] = the warnings this epoch fired; every N steps also logs["layers_by_step"]."""

    name = "gradient_monitor"

    def __init__(
        self,
        every_n_steps: int | None = None,
        warnings: bool = True,
        exploding_grad_norm: float = 1e3,
        grad_clip_norm: float | None = None,
    ):
        self.every = every_n_steps
        self.warn = warnings
        self.rules = WarningRules(exploding_grad_norm=exploding_grad_norm, grad_clip_norm=grad_clip_norm)
        self.warnings = self.rules.warnings  # the run's warnings so far: summary.json shows this list
        self._snapshot: np.ndarray | None = None
        self._snapshot_step = -1  # the step count at which the snapshot was taken
        self._epoch_sample: dict | None = None
        self._step_samples: list[dict] = []
        self._new_warnings: list[str] = []

    def on_train_begin(self, trainer) -> None:
        self.watched = watch(trainer.model)
        self._snapshot = np.empty_like(trainer.model.flat_params)

    def on_epoch_begin(self, trainer) -> None:
        self._batches = len(trainer.loader)
        self._epoch_sample, self._step_samples, self._new_warnings = None, [], []
        self._maybe_snapshot(trainer)  # a one-batch epoch: its last step is the next one

    def on_batch_end(self, trainer, loss: float) -> None:
        if trainer.status == "diverged":
            return
        if trainer.batch_in_epoch == self._batches:  # the epoch's last step: before validation overwrites caches
            self._epoch_sample = self._stats(trainer)
        elif self.every and trainer.step % self.every == 0:
            stats = self._stats(trainer)
            self._step_samples.append({"step": trainer.step, "layers": stats})
            self._check(stats, trainer.last_grad_norm)
        self._maybe_snapshot(trainer)

    def on_epoch_end(self, trainer, logs: dict) -> None:
        if self._epoch_sample is not None:
            logs["layers"] = self._epoch_sample
            self._check(self._epoch_sample, logs.get("grad_norm") or trainer.last_grad_norm)  # the epoch's mean
        if self._step_samples:
            logs["layers_by_step"] = self._step_samples
        if self._new_warnings:
            logs["warnings"] = self._new_warnings

    def _maybe_snapshot(self, trainer) -> None:
        """Copy the parameters when the next step is one that will be sampled: the update ratio's Δθ."""
        if next_step_sampled(trainer, self._batches, self.every):
            np.copyto(self._snapshot, trainer.model.flat_params)
            self._snapshot_step = trainer.step

    def _stats(self, trainer) -> dict:
        before = self._snapshot if self._snapshot_step == trainer.step - 1 else None
        return layer_stats(trainer.model, self.watched, before)

    def _check(self, stats: dict, grad_norm: float) -> None:
        if not self.warn:
            return
        symmetric = [w.name for w in self.watched if identical_units(w)]
        weight_layers = [w.name for w in self.watched if w.unit_axis is not None]
        self._new_warnings.extend(self.rules.check(Sample(stats, weight_layers, symmetric, float(grad_norm))))

    def state_dict(self) -> dict:
        return self.rules.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.rules.load_state_dict(state)


def gradient_monitor(diagnostics, grad_clip_norm: float | None = None) -> GradientMonitor | None:
    """The monitor a config's `diagnostics:` section asks for (None when `monitor: false`)."""
    if not diagnostics.monitor:
        return None
    return GradientMonitor(
        diagnostics.monitor_every_n_steps, diagnostics.warnings, diagnostics.exploding_grad_norm, grad_clip_norm
    )
