"""Group normalization (Wu & He, 2018): each example normalized over groups of its channels, no batch statistics."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field

from backprop_cli.config.spec import Spec
from backprop_cli.errors import ConfigError
from backprop_cli.nn.base import Layer


class GroupNormSpec(Spec):
    type: Literal["groupnorm"]
    num_groups: int = Field(gt=0, le=4096)  # 1: one group of every channel; the channel count: one per channel
    eps: float = Field(1e-5, gt=0, le=1)


def _channels(input_shape: tuple[int, ...], num_groups: int) -> int:
    """C of an input (C, ...) whose channels split into `num_groups` equal groups (build and estimate alike)."""
    channels = int(input_shape[0])
    if channels % num_groups:
        raise ConfigError(
            f"groupnorm with {num_groups} groups needs channels divisible by {num_groups}, but its input has "
            f"{channels}",
            fix="choose num_groups that divides the channels (1: all channels in one group; C: one group each)",
        )
    return channels


class GroupNorm(Layer):
    """y = gamma * (x - mean_g) / sqrt(var_g + eps) + beta, mean_g and var_g over each group g of C/G channels
    (and all their positions), per example: training and inference compute the same thing.

    x (N, C, *positions) is read as (N, G, M), M = C/G * positions; gamma, beta: (C,), per channel.
    Within a group this is layernorm: dx = (dx̂ - mean_g(dx̂) - x̂ * mean_g(dx̂ * x̂)) / std_g, dx̂ = dy * gamma.
    """

    Spec = GroupNormSpec

    def __init__(self, num_groups: int, eps: float = 1e-5):
        super().__init__()
        self.num_groups, self.eps = int(num_groups), float(eps)

    @classmethod
    def estimate(cls, spec, input_shape):
        return 2 * _channels(input_shape, spec.num_groups), tuple(input_shape)  # gamma and beta per channel

    @classmethod
    def reads_later_steps(cls, spec, input_shape):
        return "its statistics are taken over every step of a group" if len(input_shape) == 2 else None

    def build(self, input_shape, rng, dtype):
        channels = _channels(input_shape, self.num_groups)
        self._shape = tuple(input_shape)
        self._bshape = (channels,) + (1,) * (len(input_shape) - 1)  # (C,) broadcast over the positions
        self._others = (0, *range(2, len(input_shape) + 1))  # every axis but the channels
        self.params = {"gamma": np.ones(channels, dtype=dtype), "beta": np.zeros(channels, dtype=dtype)}
        self.grads = {k: np.zeros_like(p) for k, p in self.params.items()}
        return self._shape

    def forward(self, x, training):
        xg = x.reshape(x.shape[0], self.num_groups, -1)  # (N, G, M)
        xc = xg - xg.mean(axis=2, keepdims=True)
        self._inv_std = 1.0 / np.sqrt(np.mean(xc * xc, axis=2, keepdims=True) + self.eps)  # (N, G, 1)
        self._xhat = xc * self._inv_std  # backward needs the normalized input
        xhat = self._xhat.reshape(x.shape)
        return xhat * self.params["gamma"].reshape(self._bshape) + self.params["beta"].reshape(self._bshape)

    def backward(self, dy):
        xhat = self._xhat.reshape(dy.shape)
        np.sum(dy * xhat, axis=self._others, out=self.grads["gamma"])  # (C,)
        np.sum(dy, axis=self._others, out=self.grads["beta"])
        dxhat = (dy * self.params["gamma"].reshape(self._bshape)).reshape(self._xhat.shape)  # (N, G, M)
        mean_d = dxhat.mean(axis=2, keepdims=True)
        mean_dx = np.mean(dxhat * self._xhat, axis=2, keepdims=True)
        return (self._inv_std * (dxhat - mean_d - self._xhat * mean_dx)).reshape(dy.shape)

    def explain(self) -> dict[str, list[str]]:
        g = self.num_groups
        return {
            "forward": [f"x̂ = (x - mean_g(x)) / sqrt(var_g(x) + {self.eps:g})   (per example, over each of {g} "
                        "groups of channels and their positions)", "y = gamma * x̂ + beta   (per channel)"],
            "backward": ["dgamma = Σ dy * x̂,  dbeta = Σ dy   (over examples and positions)",
                         "dx̂ = dy * gamma",
                         "dx = (dx̂ - mean_g(dx̂) - x̂ * mean_g(dx̂ * x̂)) / sqrt(var_g + eps)"],
        }  # fmt: skip

    def flops(self, batch: int) -> tuple[int, int]:
        n = batch * math.prod(self._shape)
        return 8 * n, 12 * n  # as layernorm: the same arithmetic over other axes
