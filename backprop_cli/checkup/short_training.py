"""Fresh copies of the configured network, trained briefly the same way for every check that trains.

The checks ask what the model and loss can do, not how well the configured optimizer is tuned: each copy
is trained with Adam at a fixed rate, no schedule and no penalties (the recipe's "Adam is safe"), on
batches of at most MAX_BATCH rows.
"""

from __future__ import annotations

import numpy as np

from backprop_cli.config.schema import RegularizationConfig
from backprop_cli.optim.specs import AdamSpec, ConstantSpec
from backprop_cli.train.evaluate import mean_loss, predict_raw
from backprop_cli.train.setup import Parts, build_parts

LR = 1e-2
MAX_BATCH = 64


def fresh_parts(config, data, lr: float = LR) -> Parts:
    """The configured network at its initial weights (the config's seed), with the check's optimizer."""
    plain = config.model_copy(
        update={
            "optimizer": AdamSpec(type="adam", lr=lr),
            "schedule": ConstantSpec(type="constant"),
            "regularization": RegularizationConfig(),
        }
    )
    return build_parts(plain, data=data)


def fit(parts: Parts, x: np.ndarray, y: np.ndarray, steps: int, seed: int = 0) -> None:
    """`steps` optimizer steps on mini-batches drawn from (x, y) in a seeded order."""
    rng = np.random.default_rng(seed)
    batch = min(MAX_BATCH, parts.config.training.batch_size, len(x))
    order = np.empty(0, dtype=np.int64)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(steps):
            if len(order) < batch:
                order = np.r_[order, rng.permutation(len(x))]
            rows, order = order[:batch], order[batch:]
            parts.trainer.train_step(np.ascontiguousarray(x[rows]), np.ascontiguousarray(y[rows]))
            if parts.trainer.status == "diverged":
                return


def loss_on(parts: Parts, x: np.ndarray, y: np.ndarray) -> float:
    """The mean loss in inference mode (dropout off, batchnorm's running statistics)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return float(mean_loss(parts.loss, predict_raw(parts.model, x), y))
