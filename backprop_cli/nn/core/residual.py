"""The residual block: a skip connection around a sequence of layers."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from backprop_cli.config.spec import Spec
from backprop_cli.nn.base import Layer
from backprop_cli.nn.core.dense import Dense

if TYPE_CHECKING:  # the union of every layer's spec, assembled by the registry, which imports this file
    from backprop_cli.nn.registry import LayerSpec


class ResidualSpec(Spec):
    type: Literal["residual"]
    layers: list[LayerSpec] = Field(min_length=1)


class Residual(Layer):
    """y = skip(x) + F(x); skip is x itself, or a dense projection when F changes the shape.

    F is the inner layers in sequence; their parameters live in them (children "0", "1", ...), and
    the projection's in the child "proj" (no activation, xavier_uniform init).
    """

    Spec = ResidualSpec

    def __init__(self, layers: list[Layer]):
        super().__init__()
        self.layers = list(layers)
        self.proj: Dense | None = None

    @classmethod
    def estimate(cls, spec, input_shape):
        from backprop_cli.nn.registry import estimate_layers  # the registry holds this file: imported at call time

        total, out = estimate_layers(spec.layers, tuple(input_shape))
        if out != tuple(input_shape):  # the projection: a dense layer from prod(in) to prod(out)
            total += math.prod(input_shape) * math.prod(out) + math.prod(out)
        return total, out

    @classmethod
    def reads_later_steps(cls, spec, input_shape):
        """The skip itself is per step; its parts are checked one by one (nn/plan.py); a projection is not."""
        if len(input_shape) == 2 and cls.estimate(spec, input_shape)[1] != tuple(input_shape):
            return "the block changes the shape, so its skip is a dense projection of every step at once"
        return None

    def build(self, input_shape, rng, dtype):
        shape = tuple(input_shape)
        for layer in self.layers:
            shape = layer.build(shape, rng, dtype)
        self._out_shape = tuple(shape)
        self.proj = None
        if self._out_shape != tuple(input_shape):
            self.proj = Dense(math.prod(shape), init="xavier_uniform")
            self.proj.build(tuple(input_shape), rng, dtype)
        return self._out_shape

    def children(self):
        named = [(str(i), layer) for i, layer in enumerate(self.layers)]
        return named if self.proj is None else [*named, ("proj", self.proj)]

    def forward(self, x, training):
        h = x
        for layer in self.layers:
            h = layer.forward(h, training)
        if self.proj is None:
            return h + x
        return h + self.proj.forward(x, training).reshape(h.shape)  # (N, prod(out)) -> (N, *out)

    def backward(self, dy):
        d_inner = dy
        for layer in reversed(self.layers):
            d_inner = layer.backward(d_inner)
        d_skip = dy if self.proj is None else self.proj.backward(dy.reshape(dy.shape[0], -1))
        return d_inner + d_skip  # x feeds two paths: their gradients add

    def explain(self) -> dict[str, list[str]]:
        inner = " → ".join(type(layer).__name__.lower() for layer in self.layers)
        if self.proj is None:
            return {
                "forward": [f"y = x + F(x),  F = {inner}   (its layers are listed below)"],
                "backward": [
                    "dF = dy (into F's last layer)",
                    "dx = dx_F + dy   (x feeds two paths: their gradients add)",
                ],
            }
        return {
            "forward": [f"y = F(x) + proj(x),  F = {inner}, proj(x) = x·P + p (shapes differ)"],
            "backward": [
                "dF = dy;  dP, dp, dx_proj from the projection",
                "dx = dx_F + dx_proj   (the gradients of both paths add)",
            ],
        }

    def flops(self, batch: int) -> tuple[int, int]:
        parts = [layer.flops(batch) for layer in [*self.layers, *([self.proj] if self.proj else [])]]
        add = batch * math.prod(self._out_shape)  # the skip's sum forward, the two gradients' sum backward
        return sum(f for f, _ in parts) + add, sum(b for _, b in parts) + add
