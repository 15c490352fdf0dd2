"""Global pooling: one number per channel, over the L steps of a sequence (C, L) or the H×W pixels of an image."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from backprop_cli.config.names import a_or_an
from backprop_cli.config.spec import Spec
from backprop_cli.errors import ConfigError
from backprop_cli.nn.base import Layer


class GlobalPoolSpec(Spec):
    type: Literal["global_avgpool", "global_maxpool"]


def channels_and_positions(input_shape: tuple[int, ...], kind: str) -> tuple[int, int]:
    """(C, positions) of a sequence (C, L) or an image (C, H, W); a vector has no positions to pool over."""
    if len(input_shape) < 2:
        raise ConfigError(
            f"{a_or_an(kind)} layer needs sequences (C, L) or images (C, H, W), "
            f"but its input has shape {tuple(input_shape)}",
            fix="put it before `flatten` and dense layers (it replaces flatten: (C, ...) -> (C,))",
        )
    return int(input_shape[0]), math.prod(input_shape[1:])


class GlobalPool(Layer):
    """x: (N, C, *positions) -> y: (N, C)."""

    Spec = GlobalPoolSpec
    kind = "global_pool"

    @classmethod
    def estimate(cls, spec, input_shape):
        c, _ = channels_and_positions(input_shape, cls.kind)
        return 0, (c,)

    @classmethod
    def reads_later_steps(cls, spec, input_shape):
        return "it pools every step into one number per channel"

    def build(self, input_shape, rng, dtype):
        self._c, self._positions = channels_and_positions(input_shape, self.kind)
        return (self._c,)

    def flops(self, batch: int) -> tuple[int, int]:
        ops = batch * self._c * self._positions
        return ops, ops


class GlobalAvgPool(GlobalPool):
    """y[n, c] = mean over the positions of x[n, c];  dx = dy / positions at every position."""

    kind = "global_avgpool"

    def forward(self, x, training):
        self._x = x  # backward writes dx in x's memory layout
        return x.mean(axis=tuple(range(2, x.ndim)))

    def backward(self, dy):
        share = dy * (1.0 / self._positions)  # (N, C)
        dx = np.empty_like(self._x, dtype=dy.dtype)
        dx[...] = share.reshape(*share.shape, *(1,) * (dx.ndim - 2))
        return dx

    def explain(self) -> dict[str, list[str]]:
        return {
            "forward": ["y[n, c] = (1/P) Σ_p x[n, c, p]   (P steps or pixels)"],
            "backward": ["dx[n, c, p] = dy[n, c] / P"],
        }


class GlobalMaxPool(GlobalPool):
    """y[n, c] = max over the positions of x[n, c];  dx = dy at the (first) argmax, 0 elsewhere."""

    kind = "global_maxpool"

    def forward(self, x, training):
        self._x_shape = x.shape
        x2 = x.reshape(x.shape[0], x.shape[1], -1)  # (N, C, P)
        self._argmax = np.argmax(x2, axis=2)[..., None]  # (N, C, 1)
        return np.take_along_axis(x2, self._argmax, axis=2)[..., 0]

    def backward(self, dy):
        n, c = dy.shape
        dx = np.zeros((n, c, self._positions), dtype=dy.dtype)
        np.put_along_axis(dx, self._argmax, dy[..., None], axis=2)
        return dx.reshape(self._x_shape)

    def explain(self) -> dict[str, list[str]]:
        return {
            "forward": ["y[n, c] = max_p x[n, c, p]"],
            "backward": ["dx[n, c, p*] = dy[n, c] at the argmax p* (the first on ties), 0 elsewhere"],
        }
