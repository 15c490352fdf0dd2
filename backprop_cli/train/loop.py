"""The training loop: short, because everything optional is a callback."""

from __future__ import annotations

import ctypes
import platform
import sys

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
    from backprop_cli.nn.kernels.blas import warm_up as warm_blas
    from backprop_cli.nn.model import walk_layers
    from backprop_cli.optim.fused import warm_up as warm_optimizer

    keep_freed_memory()
    warm_blas(trainer.model.flat_params.dtype)
    for _, layer in walk_layers(trainer.model):
        if hasattr(layer, "warm_up"):
            layer.warm_up()
    warm_optimizer(trainer.optimizer, trainer.model.flat_params)


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)


def keep_freed_memory() -> bool:
    """Let glibc keep freed blocks of up to 32 MB for the next allocation instead of handing them back
    to the kernel. Every step allocates the same activations again (a CNN's first conv output is 12.8 MB
    at batch 128), and memory fresh from the kernel costs a page fault per 4 KB page on first touch:
    without this, about 15% of a CNN step on this project's host (bench/README.md). The process keeps
    what it freed up to its peak, which peak RSS counts anyway. True if set (Linux with glibc only)."""
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    mallopt = ctypes.CDLL(None).mallopt
    return bool(mallopt(M_MMAP_THRESHOLD, 32 << 20)) and bool(mallopt(M_TRIM_THRESHOLD, 1 << 30))
