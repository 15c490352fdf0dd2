"""Reshape: a per-example shape the data does not have, e.g. (L,) numbers -> (1, L), one channel of L steps."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field

from backprop_cli.config.spec import Spec
from backprop_cli.errors import ConfigError
from backprop_cli.nn.base import Layer

MAX_SIZE = 1_000_000


class ReshapeSpec(Spec):
    type: Literal["reshape"]
    shape: list[Annotated[int, Field(ge=-1, le=MAX_SIZE)]] = Field(min_length=1, max_length=4)  # per example; one -1


def target_shape(shape: tuple[int, ...], input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """`shape` with its one -1 (if any) filled in; the sizes must hold the input's values exactly."""
    size = math.prod(input_shape)
    known = math.prod(d for d in shape if d != -1)
    if list(shape).count(-1) > 1 or any(d == 0 or d < -1 for d in shape):
        raise ConfigError(f"reshape to {list(shape)}: give positive sizes and at most one -1", where="shape")
    out = tuple(size // known if d == -1 else d for d in shape) if -1 in shape else tuple(shape)
    if math.prod(out) != size:
        raise ConfigError(
            f"a reshape to {list(shape)} does not fit its input of shape {tuple(input_shape)} ({size} values)",
            fix=f"choose sizes whose product is {size}, e.g. [1, {size}] for one channel of {size} steps",
        )
    return out


class Reshape(Layer):
    """y = x.reshape(N, *shape);  dx = dy.reshape(x.shape). A view both ways when x is contiguous."""

    Spec = ReshapeSpec

    def __init__(self, shape: list[int]):
        super().__init__()
        self.shape = tuple(int(d) for d in shape)

    @classmethod
    def estimate(cls, spec, input_shape):
        return 0, target_shape(tuple(spec.shape), tuple(input_shape))

    @classmethod
    def reads_later_steps(cls, spec, input_shape):
        if len(input_shape) == 2 and target_shape(tuple(spec.shape), tuple(input_shape)) != tuple(input_shape):
            return "it regroups the values of different steps"
        return None

    @property
    def out_shape(self) -> tuple[int, ...]:
        """The per-example output shape, for exporters."""
        return self._out

    def build(self, input_shape, rng, dtype):
        self._out = target_shape(self.shape, tuple(input_shape))
        return self._out

    def forward(self, x, training):
        self._x_shape = x.shape
        return x.reshape(x.shape[0], *self._out)

    def backward(self, dy):
        return dy.reshape(self._x_shape)

    def explain(self) -> dict[str, list[str]]:
        return {
            "forward": [f"y = reshape(x, (N, {', '.join(map(str, self._out))}))"],
            "backward": ["dx = reshape(dy, x.shape)"],
        }

    def flops(self, batch: int) -> tuple[int, int]:
        return 0, 0
