"""`output.snapshots`: the model's weights at chosen epochs, each a small verified checkpoint in snapshots/.

They are what `plot --view boundary` draws its frames from. A snapshot is a checkpoint file without the
optimizer (the same format, metadata and checksum, so `eval` reads it too); epoch 0 is the initial weights.

`auto` keeps every epoch for 2-D inputs (the data a decision boundary can be drawn for) when the model is
small — AUTO_MAX_PARAMS parameters at most; each file costs about 4 bytes a parameter (float32) plus its
metadata, ~3 KB: 21 KB an epoch for the spirals example — and nothing for any other data unless asked.
"""

from __future__ import annotations

from collections.abc import Callable

from backprop_cli.runs.checkpoint import save_checkpoint
from backprop_cli.runs.rundir import RunFiles
from backprop_cli.train.callbacks import Callback

AUTO_MAX_PARAMS = 20_000


def snapshot_rule(setting, input_shape: tuple[int, ...], param_count: int) -> Callable[[int], bool] | None:
    """Which epochs to keep (a predicate), from `output.snapshots` and the data; None: keep none."""
    if setting == "none":
        return None
    if setting == "auto":
        small_2d = tuple(input_shape) == (2,) and param_count <= AUTO_MAX_PARAMS
        return (lambda epoch: True) if small_2d else None
    if isinstance(setting, list):
        wanted = set(setting)
        return wanted.__contains__
    return lambda epoch: epoch % setting.every == 0


class Snapshots(Callback):
    """Writes snapshots/epoch-NNNNN.safetensors at the wanted epochs (0: before the first step)."""

    name = "snapshots"

    def __init__(self, files: RunFiles, meta: dict, wanted: Callable[[int], bool]):
        self.files, self.meta, self.wanted = files, meta, wanted

    def on_train_begin(self, trainer) -> None:
        if trainer.step == 0 and self.wanted(0):
            self._save(trainer, 0)

    def on_epoch_end(self, trainer, logs: dict) -> None:
        if self.wanted(logs["epoch"]):
            self._save(trainer, logs["epoch"])

    def _save(self, trainer, epoch: int) -> None:
        self.files.snapshots.mkdir(exist_ok=True)
        tensors = {f"model.{k}": v for k, v in trainer.model.state_tensors().items()}
        save_checkpoint(self.files.snapshot(epoch), tensors, {**self.meta, "kind": "snapshot", "epoch": epoch})
