"""Checkpointing: metrics line, then last, then best, then the summary — in that order, so that a crash
between any two leaves files that agree."""

from __future__ import annotations

import time
from collections.abc import Callable

from backprop_cli.errors import RunError
from backprop_cli.runs.checkpoint import save_checkpoint
from backprop_cli.runs.metrics_log import append_metrics
from backprop_cli.runs.rundir import RunFiles
from backprop_cli.train.callbacks import Callback
from backprop_cli.train.improvement import Improvement


class Checkpointer(Callback):
    """Writes each epoch's record and checkpoints; keeps the best weights in memory for restore_best."""

    name = "checkpointer"

    def __init__(
        self,
        files: RunFiles,
        meta: dict,
        every: int,
        monitor: str,
        mode: str,
        callback_states: Callable[[], dict],
        running_summary: Callable[..., None],
    ):
        self.files = files
        self.meta = meta  # config, data meta, threads: the same for every checkpoint of the run
        self.every = every
        self.best = Improvement(monitor, mode)
        self.callback_states = callback_states
        self.running_summary = running_summary
        self.best_model_tensors: dict | None = None  # the best epoch's kept weights (Checkpoint.weights)
        self.last_saved_step: int | None = None
        self.last_saved_epoch = 0
        self.last_record: dict | None = None

    def on_epoch_end(self, trainer, logs: dict) -> None:
        self.last_record = logs
        epoch = logs["epoch"]
        self._guard(epoch, lambda: append_metrics(self.files.metrics, logs))
        if epoch % self.every == 0 or epoch == trainer.epochs or trainer.stop_requested:
            self.save_last(trainer)
        if self.best.update(logs.get(self.best.monitor), epoch):
            self.best_model_tensors = trainer.kept_weights()  # with EMA on: the average's weights
            self._guard(epoch, lambda: save_checkpoint(self.files.best, trainer.tensors(), self._meta(trainer, "best")))
        self._guard(epoch, lambda: self.running_summary(trainer))

    def on_train_end(self, trainer) -> None:
        if trainer.status == "diverged" or trainer.step == self.last_saved_step:
            return
        self.save_last(trainer)  # interrupted mid-epoch: step-exact; otherwise the final epoch

    def on_exception(self, trainer, error: BaseException) -> None:
        """A write failed (or anything else did): say so in summary.json if it can still be written."""
        if not isinstance(error, Exception):
            return  # KeyboardInterrupt and friends: not a failure of the run
        trainer.status, trainer.stop_reason = "failed", str(error)
        try:
            self.running_summary(trainer, "failed")
        except RunError:
            pass  # the disk is full: summary.json keeps saying "running", the error message says why

    def save_last(self, trainer) -> None:
        epoch = trainer.epoch + (1 if trainer.batch_in_epoch else 0)  # mid-epoch: the one in progress
        self._guard(epoch, lambda: save_checkpoint(self.files.last, trainer.tensors(), self._meta(trainer, "last")))
        self.last_saved_step, self.last_saved_epoch = trainer.step, trainer.epoch

    def _meta(self, trainer, kind: str) -> dict:
        return {
            **self.meta,
            "kind": kind,
            "epoch": trainer.epoch,
            "step": trainer.step,
            "metrics": self.last_record,
            "progress": trainer.progress_state(),
            "callbacks": self.callback_states(),
            "saved_at": time.time(),
        }

    def _guard(self, epoch: int, write: Callable[[], None]) -> None:
        """A failed write names the epoch and the last good checkpoint; the run then fails (exit 1)."""
        try:
            write()
        except RunError as err:
            raise RunError(
                f"{err.what} (epoch {epoch}); last good checkpoint: epoch {self.last_saved_epoch}",
                where=err.where,
                fix=err.fix,
            ) from None

    def state_dict(self) -> dict:
        return {"best": self.best.state_dict(), "last_saved_epoch": self.last_saved_epoch}

    def load_state_dict(self, state: dict) -> None:
        self.best.load_state_dict(state["best"])
        self.last_saved_epoch = state["last_saved_epoch"]
