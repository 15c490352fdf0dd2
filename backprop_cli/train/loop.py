"""The training loop: short, because everything optional is a callback."""

from __future__ import annotations

import numpy as np

from backprop_cli.train.callbacks import Callback


def fit(trainer, callbacks: Callback) -> None:
    """Epochs of shuffled mini-batches until the last epoch or a stop request (checked between steps)."""
    warm_up(trainer)
    callbacks.on_train_begin(trainer)
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # the divergence guard reports these
            _epochs(trainer, callbacks)
        callbacks.on_train_end(trainer)  # the final save can fail too
    except BaseException as error:
        callbacks.on_exception(trainer, error)
        raise


def _epochs(trainer, callbacks: Callback) -> None:
    while trainer.epoch < trainer.epochs and not trainer.stop_requested:
        trainer.begin_epoch()
        callbacks.on_epoch_begin(trainer)
        for xb, yb in trainer.epoch_batches():
            loss = trainer.train_step(xb, yb)
            callbacks.on_batch_end(trainer, loss)
            if trainer.stop_requested:
                break
        if trainer.epoch_finished and trainer.status != "diverged":
            callbacks.on_epoch_end(trainer, trainer.end_epoch())


def warm_up(trainer) -> None:
    """Compile, or load from numba's disk cache, every kernel the layers and the optimizer will call,
    before the progress and epoch clocks start: otherwise the first epoch pays for it (bench/README.md)."""
    from backprop_cli.nn.model import walk_layers
    from backprop_cli.optim.fused import warm_up as warm_optimizer

    for _, layer in walk_layers(trainer.model):
        if hasattr(layer, "warm_up"):
            layer.warm_up()
    warm_optimizer(trainer.optimizer, trainer.model.flat_params)
