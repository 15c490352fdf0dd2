"""Inverted dropout: zero a random fraction of the units in training, scale the rest up."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from backprop_cli.config.spec import Spec
from backprop_cli.nn.base import Layer


class DropoutSpec(Spec):
    type: Literal["dropout"]
    rate: float = Field(ge=0, lt=1)


class Dropout(Layer):
    """y = x * m / (1 - rate), m ~ Bernoulli(1 - rate) in training;  y = x at inference.

    The mask is drawn from the generator given to build(): one seed drives init and dropout, and a
    gradient check can restore that generator's state to replay the same mask.
    """

    Spec = DropoutSpec
    keeps_shape = True

    def __init__(self, rate: float):
        super().__init__()
        self.rate = float(rate)

    def build(self, input_shape, rng, dtype):
        self._rng = rng
        self._shape = tuple(input_shape)
        return self._shape

    def forward(self, x, training):
        if not training or self.rate == 0.0:
            self._mask = None
            return x
        keep = 1.0 - self.rate
        m = self._rng.random(x.shape, dtype=x.dtype) < keep  # (N, *shape) bool
        self._mask = m * x.dtype.type(1.0 / keep)  # the scale folded in: backward is one multiply
        return x * self._mask

    def backward(self, dy):
        return dy if self._mask is None else dy * self._mask

    def explain(self) -> dict[str, list[str]]:
        keep = 1.0 - self.rate
        return {
            "forward": [f"y = x ⊙ m / {keep:g},  m ~ Bernoulli({keep:g}) per unit (training); y = x at inference"],
            "backward": [f"dx = dy ⊙ m / {keep:g}   (the units dropped in forward get no gradient)"],
        }

    def flops(self, batch: int) -> tuple[int, int]:
        n = batch * math.prod(self._shape) * (self.rate > 0)
        return 3 * n, n  # draw < keep, the scaled mask, x * mask; dy * mask
