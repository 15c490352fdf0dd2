"""`output.tensorboard: true`: TensorBoard event files in the run directory, written with tensorboardX.

tensorboardX writes the event format without TensorFlow (optional extra `backprop-cli[tensorboard]`).
The x axis is the training step (metrics.jsonl's `step`):
  - each epoch's numbers as scalars, under metrics.jsonl's names: train_loss, val_accuracy, lr,
    grad_norm, epoch_time_s, epoch, and the monitor's per-layer statistics as layers/<i>/<stat>;
  - per-layer histograms of the weights and the gradients (weights/<i>, grads/<i>, every parameter of
    the layer together) at the gradient monitor's cadence: each epoch's last step, and every
    `diagnostics.monitor_every_n_steps` steps when set; sqrt(sum of squares) is the logged norm;
  - the resolved config as text (tag `config`), once.
`tensorboard --logdir runs/` then shows every run under its directory's name.
"""

from __future__ import annotations

import numpy as np

from backprop_cli.diagnostics.layer_stats import watch
from backprop_cli.runs.rundir import RunFiles
from backprop_cli.train.callbacks import Callback
from backprop_cli.train.csv_log import flat_record
from backprop_cli.train.log_writers import require_tensorboardx


def scalar_tag(key: str) -> str:
    """metrics.jsonl's flat key -> its tag: "val_loss" stays, "layers.3.0.grad_norm" -> "layers/3.0/grad_norm"."""
    if not key.startswith("layers."):
        return key
    layer, _, stat = key[len("layers.") :].rpartition(".")
    return f"layers/{layer}/{stat}"


class TensorBoardLog(Callback):
    """Scalars per epoch, histograms at the monitor's cadence, the config as text."""

    name = "tensorboard"

    def __init__(self, files: RunFiles, config_yaml: str, every_n_steps: int | None = None):
        self.files = files
        self.config_yaml = config_yaml
        self.every = every_n_steps
        self.writer = None

    def on_train_begin(self, trainer) -> None:
        SummaryWriter = require_tensorboardx()
        # a resumed run: TensorBoard drops the steps after the checkpoint, which the run does again
        purge = trainer.step + 1 if trainer.step else None
        # an event file is named by the second it was opened: a resume within that second would overwrite the
        # first session's file, so the starting step goes into the name too (zero-padded: files sort by step)
        suffix = f".step{trainer.step:012d}"
        root = str(self.files.root)
        self.writer = SummaryWriter(logdir=root, purge_step=purge, flush_secs=30, filename_suffix=suffix)
        if not trainer.step:
            self.writer.add_text("config", f"```yaml\n{self.config_yaml}```", 0)
        self.watched = watch(trainer.model)

    def on_epoch_begin(self, trainer) -> None:
        self._batches = len(trainer.loader)

    def on_batch_end(self, trainer, loss: float) -> None:
        if trainer.status == "diverged":
            return
        if trainer.batch_in_epoch == self._batches or (self.every and trainer.step % self.every == 0):
            self._histograms(trainer.model, trainer.step)

    def _histograms(self, model, step: int) -> None:
        for w in self.watched:  # float64: the sums of squares the reader gets are the monitor's norms squared
            for tag, flat in (("weights", model.flat_params), ("grads", model.flat_grads)):
                values = np.concatenate([flat[s] for s in w.spans]).astype(np.float64)
                self.writer.add_histogram(f"{tag}/{w.name}", values, step)

    def on_epoch_end(self, trainer, logs: dict) -> None:
        step = logs["step"]
        for key, value in flat_record(logs).items():
            if key != "step" and isinstance(value, (int, float)) and not isinstance(value, bool):
                self.writer.add_scalar(scalar_tag(key), value, step)
        self.writer.flush()

    def on_train_end(self, trainer) -> None:
        self._close()

    def on_exception(self, trainer, error: BaseException) -> None:
        self._close()

    def _close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
