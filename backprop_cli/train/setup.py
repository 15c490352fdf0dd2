"""From a validated config to the parts of a run: data, model, loss, optimizer, schedule, trainer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backprop_cli.config.schema import Config
from backprop_cli.data import load_data
from backprop_cli.data.augment import Augmenter, background, check_augment
from backprop_cli.data.batching import BatchLoader
from backprop_cli.data.class_weights import class_weight_vector
from backprop_cli.data.rng import augment_generator, generators
from backprop_cli.diagnostics.admission import admit_plugins
from backprop_cli.nn.attention.embedding import check_token_ids
from backprop_cli.nn.plan import Facts
from backprop_cli.nn.registry import reads_sequences
from backprop_cli.optim.ema import WeightAverage, decay_from
from backprop_cli.optim.registry import build_optimizer, build_schedule
from backprop_cli.train.log_writers import check_log_writers
from backprop_cli.train.preflight import Preflight, plan_config, preflight
from backprop_cli.train.trainer import Regularization, Trainer


def _weight_average(ema, model) -> WeightAverage | None:
    return None if ema is None else WeightAverage(model.flat_params, decay_from(ema.decay, ema.half_life_steps))


def _augmentation(config: Config, data) -> dict:
    """The trainer's augmenter and its generator, when data.augment asks for any."""
    if not config.data.augment:
        return {}
    check_augment(config.data.augment, data.input_shape, token_ids=bool(data.text))
    fill = background(data.scaler, data.input_shape)
    return {"augment": Augmenter(config.data.augment, fill), "augment_rng": augment_generator(config.seed)}


@dataclass
class Parts:
    config: Config
    data: object
    model: object
    loss: object
    trainer: Trainer


def weigh(loss, class_weights, data) -> None:
    """The loss's class factors (loss.class_weights, from the training split) and whether rows carry weights."""
    if class_weights is not None:
        loss.class_weights = class_weight_vector(class_weights, data.y_train, data.class_names, data.n_classes)
    loss.row_weighted = data.w_train is not None


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
    weigh(loss, config.loss.class_weights, data)
    training = config.training
    # accumulation: the loader draws the rows of k micro-batches at once, the trainer splits them
    loader = BatchLoader(data.x_train, data.y_train, training.batch_size * training.accumulate, data.w_train)
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
        w_val=data.w_val,
        micro_batch=training.batch_size if training.accumulate > 1 else None,
        ema=_weight_average(training.ema, model),
        **_augmentation(config, data),
    )
    return Parts(config=config, data=data, model=model, loss=loss, trainer=trainer)
