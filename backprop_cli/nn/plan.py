"""One plan of a network, made once from the config's layers and the data's facts, before anything is built.

The plan resolves what every consumer would otherwise work out again on its own: the layer specs (an
embedding's vocabulary filled in from the data), each layer's output shape and parameter count (each
layer class's `estimate`, which makes the checks of its build), the model's size against memory, the
output against the loss and the data's targets, and each layer against what the data mean:

- an embedding reads the data's integer token ids, so it is the model's first layer (after another layer
  it would round activations into "ids" and pass no gradient back);
- when the targets are the next token at every step (a language model), no layer may let step t read a
  later step: that step's input is the answer at t. Each layer class says when it does (`reads_later_steps`):
  attention with causal: false, a bidirectional recurrent layer, windows over steps, a dense layer or a
  flatten over all steps at once.

Pre-flight, setup, gradcheck, inference, sweeps and cross-validation, and the teaching verbs all build
their model from a plan. Nothing here reads the config schema: a plan takes the layer specs, a built loss
and the training dtype.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from backprop_cli.errors import ConfigError
from backprop_cli.limits import format_bytes, memory_allowance
from backprop_cli.nn.attention.embedding import with_vocab_size
from backprop_cli.nn.base import Layer, Shape
from backprop_cli.nn.model import Model, build_model
from backprop_cli.nn.registry import LAYERS, spec_of
from backprop_cli.nn.step_memory import StepMemory, step_bytes

# Parameters, gradients and up to two optimizer slots, each a full copy: refuse what cannot fit.
COPIES_IN_MEMORY = 4
MEANING_FIX = (
    "a next-token model needs layers that read only the steps up to their own: attention with causal: true, "
    "one-directional recurrent layers with return_sequences: true, dense layers with per_step: true"
)


@dataclass(frozen=True)
class Facts:
    """What a plan needs to know of the data: the shape of one example, its targets, its vocabulary."""

    input_shape: Shape
    task: str = "classification"  # "classification" | "regression"
    n_classes: int | None = None
    label_shape: Shape = ()  # one example's target: () a class, (L,) one per step, (T,) regression targets
    vocab_size: int | None = None  # token ids of a text: an embedding's vocabulary
    next_token: bool = False  # the targets are the next token at every step (a language model)

    @classmethod
    def of(cls, data) -> Facts:
        """The facts of a loaded Dataset (data/dataset.py)."""
        text = data.text is not None
        return cls(
            tuple(data.input_shape), data.task, data.n_classes, tuple(data.y_train.shape[1:]),
            data.n_classes if text else None, text,
        )  # fmt: skip


@dataclass(frozen=True)
class Step:
    """One layer of the plan, nested ones included: its key path, spec and shapes."""

    key: str  # "model.layers.2.layers.1"
    spec: object
    input_shape: Shape
    output_shape: Shape
    n_params: int

    @property
    def cls(self) -> type[Layer]:
        return LAYERS[self.spec.type]


@dataclass(frozen=True)
class Plan:
    """A network as it will be built: specs, shapes and sizes, checked against the data and the loss."""

    layers: list  # the specs to build, the vocabulary filled in
    facts: Facts
    steps: list[Step] = field(repr=False)  # every layer, parents before their parts
    output_shape: Shape  # per example, of the last layer
    n_params: int
    dtype: np.dtype
    loss: object = None  # the built loss the output was checked against, if any

    def build(self, rng: np.random.Generator, dtype=None) -> Model:
        """The model of this plan, its parameters drawn from `rng` (in the plan's dtype unless given)."""
        return build_model(self.layers, self.facts.input_shape, rng, self.dtype if dtype is None else dtype)

    def check_meaning(self) -> None:
        """Each layer against the data's meaning (the module's docstring); ConfigError naming the layer."""
        first = self.steps[0].key
        for step in self.steps:
            kind = step.spec.type
            if step.cls.reads_ids and step.key != first:
                raise ConfigError(
                    f"an {kind} layer reads the data's integer token ids, so it must be the model's first layer; "
                    "here it would read another layer's output (rounded into ids, with no gradient through it)",
                    where=step.key,
                    fix=f"move it to {first}",
                )
            why = step.cls.reads_later_steps(step.spec, step.input_shape) if self.facts.next_token else None
            if why:
                raise ConfigError(
                    f"the targets are the next token at every step, and this {kind} layer would read them: {why}",
                    where=step.key,
                    fix=MEANING_FIX,
                )


def plan_network(
    layer_specs: Sequence,
    facts: Facts,
    loss=None,
    dtype="float32",
    resolved: bool = False,
    key_path: str = "model.layers",
    meaning: bool = True,
    batch: int | None = None,
    memory: bool = True,
) -> Plan:
    """The plan of `layer_specs` (dicts or validated specs) for data with `facts`: every check, in order:
    each layer's shapes, the size against memory (a training step of `batch` examples too, when given), the
    output against `loss` (when given), the meaning.
    `resolved=True`: the specs are a checkpoint's dumped, validated config (read, not validated again).
    `memory=False`: no size check (a checkpoint's reader bounds the size by the tensors in its file first)."""
    if not layer_specs:  # a config says so at validation; a checkpoint's (or a library caller's) list may not
        raise ConfigError("a model needs at least one layer", where=key_path, fix="list the layers under model.layers")
    specs = with_vocab_size([spec_of(s, f"{key_path}.{i}", resolved) for i, s in enumerate(layer_specs)],
                            facts.vocab_size)  # fmt: skip
    steps = list(_walk(specs, tuple(facts.input_shape), key_path))
    top = [s for s in steps if s.key.count(".") == key_path.count(".") + 1]
    plan = Plan(specs, facts, steps, top[-1].output_shape, sum(s.n_params for s in top), np.dtype(dtype), loss)
    if memory:
        check_fits(plan, batch)
    if loss is not None:
        check_output(specs, plan.output_shape, loss, facts, key_path)
    if meaning:
        plan.check_meaning()
    return plan


def _walk(specs: Sequence, shape: Shape, key_path: str) -> Iterator[Step]:
    """A Step per layer in build order, a container before its parts; a ConfigError names the layer."""
    for i, spec in enumerate(specs):
        key = f"{key_path}.{i}"
        inner = list(_walk(spec.layers, shape, f"{key}.layers")) if "layers" in type(spec).model_fields else []
        try:
            count, out = LAYERS[spec.type].estimate(spec, shape)
        except ConfigError as err:  # a shape that does not fit (an image layer after flatten): name the layer
            err.where = err.where or key
            raise
        yield Step(key, spec, shape, tuple(out), count)
        yield from inner
        shape = tuple(out)


def check_fits(plan: Plan, batch: int | None = None) -> None:
    """Refuse, from estimates and before anything is allocated, a model whose parameters (with their gradients
    and the optimizer's slots), or whose whole training step of `batch` examples (the activations too), exceed
    the machine's allowance."""
    itemsize, available = plan.dtype.itemsize, memory_allowance()
    params = plan.n_params * itemsize * COPIES_IN_MEMORY
    if params > available:
        raise ConfigError(
            f"the model has {plan.n_params:,} parameters and would need about {params / 2**30:.1f} GiB "
            f"(this machine allows {available / 2**30:.1f} GiB)",
            where="model.layers",
            fix="use fewer or smaller layers",
        )
    if batch is not None:
        step = step_bytes(plan.steps, batch, itemsize)
        if params + step.total > available:
            raise _step_too_large(step, params, available)


def _step_too_large(step: StepMemory, params: int, available: int) -> ConfigError:
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


def check_output(specs: Sequence, output_shape: Shape, loss, facts: Facts, key_path: str = "model.layers") -> None:
    """The loss's checks of the model's output and the data's targets, naming the exact key to change when
    the class count is off."""
    n = facts.n_classes
    n_targets = facts.label_shape[0] if facts.task == "regression" and facts.label_shape else None
    try:
        loss.check_output(output_shape, n, n_targets)
    except ConfigError:
        units = {"cross_entropy": n, "binary_cross_entropy": 1 if n == 2 else None}.get(loss.name)
        last = next((i for i in reversed(range(len(specs))) if "units" in type(specs[i]).model_fields), None)
        if not units or last is None or len(output_shape) != 1 or specs[last].units == units:
            raise
        key = f"{key_path}.{last}.units"
        what = f"the data has {n} classes but the last layer has {specs[last].units} units"
        raise ConfigError(what, where=key, fix=f"set `{key}={units}`") from None
    loss.check_targets(output_shape, facts.task, facts.label_shape)
