"""Layer normalization: each example (and each step of a sequence) normalized over its features."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from backprop_cli.config.spec import Spec
from backprop_cli.nn.base import Layer


class LayerNormSpec(Spec):
    type: Literal["layernorm"]
    eps: float = Field(1e-5, gt=0, le=1)


class LayerNorm(Layer):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta, mean and var over the feature axis 1.

    x (N, C) or (N, C, L): the statistics of every example (at every step) are its own, so training and
    inference compute the same thing and there is no running state. gamma, beta: (C,).
    dx = gamma / std * (dy - mean_C(dy) - xhat * mean_C(dy * xhat)) with dy scaled by gamma first.
    """

    Spec = LayerNormSpec

    def __init__(self, eps: float = 1e-5):
        super().__init__()
        self.eps = float(eps)

    @classmethod
    def estimate(cls, spec, input_shape):
        return 2 * input_shape[0], tuple(input_shape)  # gamma and beta per feature

    def build(self, input_shape, rng, dtype):
        channels = int(input_shape[0])
        self._bshape = (channels,) + (1,) * (len(input_shape) - 1)  # (C,) broadcast over the steps
        self._others = (0, *range(2, len(input_shape) + 1))  # every axis but the features
        self._size = int(np.prod(input_shape))
        self.params = {"gamma": np.ones(channels, dtype=dtype), "beta": np.zeros(channels, dtype=dtype)}
        self.grads = {k: np.zeros_like(p) for k, p in self.params.items()}
        return tuple(input_shape)

    def forward(self, x, training):
        mean = x.mean(axis=1, keepdims=True)  # (N, 1[, L])
        xc = x - mean
        var = np.mean(xc * xc, axis=1, keepdims=True)
        self._inv_std = 1.0 / np.sqrt(var + self.eps)
        self._xhat = xc * self._inv_std  # backward needs the normalized input
        return self._xhat * self.params["gamma"].reshape(self._bshape) + self.params["beta"].reshape(self._bshape)

    def backward(self, dy):
        xhat = self._xhat
        np.sum(dy * xhat, axis=self._others, out=self.grads["gamma"])  # (C,)
        np.sum(dy, axis=self._others, out=self.grads["beta"])
        dxhat = dy * self.params["gamma"].reshape(self._bshape)
        mean_d = dxhat.mean(axis=1, keepdims=True)
        mean_dx = np.mean(dxhat * xhat, axis=1, keepdims=True)
        return self._inv_std * (dxhat - mean_d - xhat * mean_dx)

    def explain(self) -> dict[str, list[str]]:
        return {
            "forward": ["x̂ = (x - mean_C(x)) / sqrt(var_C(x) + eps)", "y = gamma * x̂ + beta"],
            "backward": ["dgamma = Σ dy * x̂,  dbeta = Σ dy   (over examples and steps)",
                         "dx̂ = dy * gamma",
                         "dx = (dx̂ - mean_C(dx̂) - x̂ * mean_C(dx̂ * x̂)) / sqrt(var + eps)"],
        }  # fmt: skip

    def flops(self, batch: int) -> tuple[int, int]:
        n = batch * self._size
        return 8 * n, 12 * n
