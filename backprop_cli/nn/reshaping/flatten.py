"""Flatten: images (C, H, W) -> vectors (C*H*W,), for the dense layers that follow."""

from __future__ import annotations

import math
from typing import Literal

from backprop_cli.config.spec import Spec
from backprop_cli.nn.base import Layer


class FlattenSpec(Spec):
    type: Literal["flatten"]


class Flatten(Layer):
    """y = x.reshape(N, -1);  dx = dy.reshape(x.shape). A view both ways: nothing is copied."""

    Spec = FlattenSpec

    @classmethod
    def estimate(cls, spec, input_shape):
        return 0, (math.prod(input_shape),)

    @classmethod
    def reads_later_steps(cls, spec, input_shape):
        return "it puts every step into one vector" if len(input_shape) == 2 else None

    def build(self, input_shape, rng, dtype):
        self._shape = tuple(input_shape)
        return (math.prod(input_shape),)

    def forward(self, x, training):
        self._x_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy):
        return dy.reshape(self._x_shape)

    def explain(self) -> dict[str, list[str]]:
        dims = "×".join(map(str, self._shape))
        return {
            "forward": [f"y = x.reshape(N, {math.prod(self._shape)})   (from N×{dims})"],
            "backward": [f"dx = dy.reshape(N, {dims})   (no arithmetic: the gradient only changes shape)"],
        }

    def flops(self, batch: int) -> tuple[int, int]:
        return 0, 0
