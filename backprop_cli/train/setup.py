"""From a validated config to the parts of a run: data, model, loss, optimizer, schedule, trainer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backprop_cli.config.schema import Config
from backprop_cli.data import load_data
from backprop_cli.data.batching import BatchLoader
from backprop_cli.data.rng import generators
from backprop_cli.diagnostics.admission import admit_plugins
from backprop_cli.nn.attention.embedding import check_token_ids
from backprop_cli.nn.plan import Facts
from backprop_cli.nn.registry import reads_sequences
from backprop_cli.optim.registry import build_optimizer, build_schedule
from backprop_cli.train.log_writers import check_log_writers
from backprop_cli.train.preflight import Preflight, plan_config, preflight
from backprop_cli.train.trainer import Regularization, Trainer


@dataclass
class Parts:
    config: Config
    data: object
    model: object
    loss: object
    trainer: Trainer


def build_parts(config: Config, checked: Preflight | None = None, data=None, download_progress=None) -> Parts:
    """Everything a run needs, from the config and its pre-flight (made here unless given): the model is the
    pre-flight's plan built. `data`: already loaded (its facts plan the model, no pre-flight is made).

    A missing built-in dataset (mnist, fashion_mnist) is fetched first, reporting to `download_progress`.
    """
    check_log_writers(config)  # an optional package the config asks for, before any data is read
    dtype = np.dtype(config.training.dtype)
    if data is not None and checked is None:
        plan = plan_config(config, Facts.of(data), rows=len(data.x_train))
    else:
        checked = checked or preflight(config)
        plan, data = checked.plan, checked.data
    if data is None:  # the pre-flight did not read it whole: a download, an .npz or .npy
        sequences = reads_sequences(config.model.layers)
        raw = checked.facts.raw
        data = load_data(config.data, config.seed, dtype, download=True, progress=download_progress,
                         sequences=sequences, raw=raw)  # fmt: skip
    model_rng, shuffle_rng = generators(config.seed)
    model = plan.build(model_rng)
    admit_plugins(model)  # a user's layer trains only with a proved backward
    check_token_ids(model, data)
    loss = plan.loss
    loader = BatchLoader(data.x_train, data.y_train, config.training.batch_size)
    reg = config.regularization
    trainer = Trainer(
        model=model,
        loss=loss,
        loader=loader,
        epochs=config.training.epochs,
        optimizer=build_optimizer(config.optimizer, decay_params=[model.flat_weights]),
        schedule=build_schedule(config.schedule, config.optimizer.lr, config.training.epochs, len(loader)),
        model_rng=model_rng,
        shuffle_rng=shuffle_rng,
        classification=data.task == "classification",
        regularization=Regularization(reg.l1, reg.l2, reg.grad_clip_norm, reg.grad_clip_value),
        x_val=data.x_val,
        y_val=data.y_val,
    )
    return Parts(config=config, data=data, model=model, loss=loss, trainer=trainer)
