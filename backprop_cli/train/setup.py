"""From a validated config to the parts of a run: data, model, loss, optimizer, schedule, trainer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backprop_cli.config.schema import Config
from backprop_cli.data import load_data
from backprop_cli.data.augment import Augmenter, background, check_augment
from backprop_cli.data.batching import BatchLoader
from backprop_cli.diagnostics.admission import admit_plugins
from backprop_cli.errors import ConfigError
from backprop_cli.limits import format_bytes, memory_allowance
from backprop_cli.nn.attention.embedding import check_token_ids, with_vocab_size
from backprop_cli.nn.conv.windows import reads_sequences
from backprop_cli.nn.losses import build_loss
from backprop_cli.nn.model import build_model, estimate_param_count
from backprop_cli.nn.step_memory import layer_steps, step_bytes
from backprop_cli.optim.ema import WeightAverage, decay_from
from backprop_cli.optim.registry import build_optimizer, build_schedule
from backprop_cli.train.log_writers import check_log_writers
from backprop_cli.train.trainer import Regularization, Trainer

# Parameters, gradients and up to two optimizer slots, each a full copy: refuse what cannot fit.
COPIES_IN_MEMORY = 4


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


def generators(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """One seed, two independent streams: model (init, dropout) and shuffling."""
    model_seq, shuffle_seq = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(model_seq), np.random.default_rng(shuffle_seq)


def augment_generator(seed: int) -> np.random.Generator:
    """The seed's third stream, for data augmentation: spawning a third child leaves the first two as they
    were, so a run without augmentation draws exactly what it drew before augmentation existed."""
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[2])


def check_model_fits(
    config: Config, input_shape: tuple[int, ...], vocab_size: int | None = None, rows: int | None = None
) -> int:
    """Refuse from an estimate, before anything is allocated, a model whose parameters (with their gradients and
    the optimizer's slots), or whose whole training step (the activations of a batch too), exceed the machine's
    allowance. `rows`: the training rows, when known (a batch is never larger). Returns the parameter count.

    Text (data/text.py): a built-in text's shape is (context,) and its vocabulary is known from its entry.
    """
    if not input_shape and config.data.context is not None and config.data.dataset is not None:
        from backprop_cli.data.builtin import lookup

        input_shape, vocab_size = (config.data.context,), lookup(config.data.dataset).n_classes
    specs = with_vocab_size(config.model.layers, vocab_size)
    n_params = estimate_param_count(specs, input_shape)
    itemsize = np.dtype(config.training.dtype).itemsize
    params = n_params * itemsize * COPIES_IN_MEMORY
    available = memory_allowance()
    if params > available:
        raise ConfigError(
            f"the model has {n_params:,} parameters and would need about {params / 2**30:.1f} GiB "
            f"(this machine allows {available / 2**30:.1f} GiB)",
            where="model.layers",
            fix="use fewer or smaller layers",
        )
    batch = min(config.training.batch_size, rows) if rows else config.training.batch_size
    step = step_bytes(layer_steps(specs, input_shape), batch, itemsize)
    if params + step.total > available:
        raise _step_too_large(step, params, available)
    return n_params


def _step_too_large(step, params: int, available: int) -> ConfigError:
    """The estimate, where it goes, and the knob: the batch size, and for attention the context and heads."""
    layer = step.largest
    what = f"{layer.key} ({layer.spec.type}) keeps {format_bytes(step.largest_bytes)}"
    fix = f"lower training.batch_size ({step.batch})"
    if layer.spec.type == "attention":
        heads, steps = layer.spec.heads, layer.input_shape[-1]
        what += f": {heads} heads × {steps}² attention weights per example"
        fix += f", data.context ({steps}) or the heads ({layer.key}.heads: {heads})"
    return ConfigError(
        f"one training step of {step.batch} examples needs about {format_bytes(params + step.total)}: "
        f"{format_bytes(step.total)} of activations and their gradients ({what}), {format_bytes(params)} of "
        f"parameters, gradients and optimizer state; this machine allows {format_bytes(available)}",
        where="training.batch_size",
        fix=fix + "; `backprop explain CONFIG` shows the memory of every layer",
    )


def builtin_input_shape(name: str, data_cfg=None) -> tuple[int, ...]:
    """A built-in dataset's per-example shape, known without loading it (a sequence task's data.length too)."""
    from backprop_cli.data.builtin import lookup

    shape = lookup(name).input_shape
    length = getattr(data_cfg, "length", None)
    return (*shape[:-1], length) if length and "length" in lookup(name).options else shape


def check_output_layer(
    config: Config,
    output_shape: tuple[int, ...],
    loss,
    n_classes: int | None,
    task: str = "classification",
    label_shape: tuple[int, ...] = (),
) -> None:
    """The loss's checks of the model's output and the data's targets (`task`, one example's `label_shape`),
    naming the exact key to change when the class count is off."""
    n_targets = label_shape[0] if task == "regression" and label_shape else None
    try:
        loss.check_output(output_shape, n_classes, n_targets)
    except ConfigError:
        n, layers = n_classes, config.model.layers
        units = {"cross_entropy": n, "binary_cross_entropy": 1 if n == 2 else None}.get(loss.name)
        last = next((i for i in reversed(range(len(layers))) if getattr(layers[i], "units", None)), None)
        if not units or last is None or len(output_shape) != 1 or layers[last].units == units:
            raise
        key = f"model.layers.{last}.units"
        what = f"the data has {n} classes but the last layer has {layers[last].units} units"
        raise ConfigError(what, where=key, fix=f"set `{key}={units}`") from None
    loss.check_targets(output_shape, task, label_shape)


def build_parts(config: Config, data=None, download_progress=None, raw=None) -> Parts:
    """Everything a run needs, built from the config (and the data, when already loaded or read as `raw`).

    A missing built-in dataset (mnist, fashion_mnist) is fetched first, reporting to `download_progress`.
    """
    check_log_writers(config)  # an optional package the config asks for, before any data is read
    dtype = np.dtype(config.training.dtype)
    if data is None:
        if config.data.dataset is not None:  # its shape is known: refuse an absurd model before a download
            check_model_fits(config, builtin_input_shape(config.data.dataset, config.data))
        data = load_data(
            config.data,
            config.seed,
            dtype,
            download=True,
            progress=download_progress,
            sequences=reads_sequences(config.model.layers),
            raw=raw,
        )
    check_model_fits(config, data.input_shape, data.n_classes if data.text else None, len(data.x_train))
    model_rng, shuffle_rng = generators(config.seed)
    layer_specs = with_vocab_size(config.model.layers, data.n_classes if data.text else None)
    model = build_model(layer_specs, data.input_shape, model_rng, dtype)
    admit_plugins(model)  # a user's layer trains only with a proved backward
    check_token_ids(model, data)
    loss = build_loss(config.loss)
    check_output_layer(config, model.output_shape, loss, data.n_classes, data.task, data.y_train.shape[1:])
    training = config.training
    # accumulation: the loader draws the rows of k micro-batches at once, the trainer splits them
    loader = BatchLoader(data.x_train, data.y_train, training.batch_size * training.accumulate)
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
        micro_batch=training.batch_size if training.accumulate > 1 else None,
        ema=_weight_average(training.ema, model),
        **_augmentation(config, data),
    )
    return Parts(config=config, data=data, model=model, loss=loss, trainer=trainer)
