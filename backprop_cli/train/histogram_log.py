"""`diagnostics.histograms`: z, y and dy histograms per layer at the gradient monitor's sampled steps.

The taps (diagnostics/histograms.py) go on the layers just before a sampled step and come off right
after it, so no other step, and no validation pass, pays for them. Each sample is one line of the
run's histograms.jsonl.
"""

from __future__ import annotations

from backprop_cli.diagnostics.histograms import BINS, HistogramTaps
from backprop_cli.diagnostics.layer_stats import watch
from backprop_cli.runs.histogram_log import append_sample, drop_after
from backprop_cli.runs.rundir import RunFiles
from backprop_cli.train.callbacks import Callback
from backprop_cli.train.monitor import next_step_sampled


class HistogramLog(Callback):
    name = "histogram_log"

    def __init__(self, files: RunFiles, every_n_steps: int | None = None):
        self.files, self.every = files, every_n_steps
        self._batches = 0

    def on_train_begin(self, trainer) -> None:
        drop_after(self.files.histograms, trainer.step)  # a resumed run takes the later samples again
        self.histograms = HistogramTaps(trainer.model, watch(trainer.model))

    def on_epoch_begin(self, trainer) -> None:
        self._batches = len(trainer.loader)
        self._arm(trainer)  # a one-batch epoch: its only step is sampled

    def on_batch_end(self, trainer, loss: float) -> None:
        taps = self.histograms.taps
        if taps.installed:
            taps.remove()
            sample = self.histograms.take()
            if trainer.status != "diverged":
                line = {"epoch": trainer.epoch + 1, "step": trainer.step, "bins": BINS, "layers": sample}
                append_sample(self.files.histograms, line)
        self._arm(trainer)

    def on_train_end(self, trainer) -> None:
        self._disarm()

    def on_exception(self, trainer, error: BaseException) -> None:
        self._disarm()

    def _arm(self, trainer) -> None:
        if not self.histograms.taps.installed and next_step_sampled(trainer, self._batches, self.every):
            self.histograms.taps.install()

    def _disarm(self) -> None:
        if self.histograms.taps.installed:
            self.histograms.taps.remove()
            self.histograms.take()
