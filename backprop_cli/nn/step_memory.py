"""The memory of one training step, from layer specs and shapes alone (nothing is allocated).

A step holds, besides the parameters, what every layer keeps from its forward for its backward, all at once at
the end of the forward, and then the gradients the backward makes on its way down (the largest layer's at a
time). Per example, in numbers of the training dtype:

    kept       2·(in + out) by default (the input, the pre-activation, the output, a mask or a normaliser);
               dense and convolutions also an im2col matrix (C·k²·OH·OW, C·k·OL); attention its Q, K, V,
               concatenated heads and input (5·D·L) and the weights P (heads·L², twice with dropout's mask);
               a recurrent layer its gates and states at every step ((G + 3)·units·L per direction)
    transient  in + out for dy and dx; attention's dP and dS (2·heads·L²) besides

Every layer is an upper bound of what it really holds (tests/nn/test_step_memory.py measures them). The plan of a
network (its steps: spec, input shape, output shape) is what `step_bytes` reads; `layer_steps` walks specs the
same way until then.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

GATES = {"rnn": 1, "gru": 3, "lstm": 4}


@dataclass(frozen=True)
class LayerStep:
    """One layer as the estimate sees it: its key path, spec and per-example shapes."""

    key: str
    spec: object
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]


@dataclass(frozen=True)
class StepMemory:
    """Bytes of one step at `batch` examples: what the layers keep, the backward's gradients, and the layer
    that keeps most (the one to name in a message)."""

    batch: int
    kept: int
    transient: int
    largest: LayerStep | None
    largest_bytes: int

    @property
    def total(self) -> int:
        return self.kept + self.transient


def _attention_weights(spec, shape) -> int:
    return spec.heads * shape[-1] ** 2  # P: (heads, L, L) per example


def kept_elements(step: LayerStep) -> int:
    """Numbers one example keeps in this layer between its forward and its backward (an upper bound)."""
    spec, x, y = step.spec, math.prod(step.input_shape), math.prod(step.output_shape)
    kind = spec.type
    if kind == "attention":
        return 5 * x + _attention_weights(spec, step.input_shape) * (2 if spec.dropout > 0 else 1)
    if kind in GATES:
        steps = step.input_shape[-1]
        return 2 * x + (GATES[kind] + 3) * spec.units * steps * (1 + spec.bidirectional)
    if kind == "conv2d":
        return 2 * (x + y) + step.input_shape[0] * spec.kernel_size**2 * math.prod(step.output_shape[1:])
    if kind == "conv1d":
        return 2 * (x + y) + step.input_shape[0] * spec.kernel_size * step.output_shape[-1]
    return 2 * (x + y)


def transient_elements(step: LayerStep) -> int:
    """Numbers one example needs at once while this layer's backward runs: dy and dx, attention's dP and dS."""
    extra = 2 * _attention_weights(step.spec, step.input_shape) if step.spec.type == "attention" else 0
    return math.prod(step.input_shape) + math.prod(step.output_shape) + extra


def step_bytes(steps: Iterable[LayerStep], batch: int, itemsize: int) -> StepMemory:
    """The activation memory of a training step of `batch` examples (containers' parts counted as themselves)."""
    kept, transient, largest, largest_kept = 0, 0, None, -1
    for step in steps:
        k = kept_elements(step)
        kept += k
        transient = max(transient, transient_elements(step))
        if k > largest_kept:
            largest, largest_kept = step, k
    scale = batch * itemsize
    return StepMemory(batch, kept * scale, transient * scale, largest, max(largest_kept, 0) * scale)


def layer_steps(specs: Sequence, input_shape: tuple[int, ...], key_path: str = "model.layers") -> Iterator[LayerStep]:
    """A LayerStep per layer in build order, a container's parts after it (validated specs; shapes as the
    parameter estimate works them out)."""
    from backprop_cli.nn.model import _estimate  # the shapes the parameter count uses, layer by layer

    shape = tuple(input_shape)
    for i, spec in enumerate(specs):
        key = f"{key_path}.{i}"
        _, out = _estimate(spec, shape)
        yield LayerStep(key, spec, shape, tuple(out))
        if spec.type == "residual":
            yield from layer_steps(spec.layers, shape, f"{key}.layers")
        shape = tuple(out)
