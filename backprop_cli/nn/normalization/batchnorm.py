"""Batch normalization over the feature axis (per channel for images)."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field

from backprop_cli.config.spec import Spec
from backprop_cli.nn.base import Layer


class BatchNormSpec(Spec):
    type: Literal["batchnorm"]
    momentum: float = Field(0.9, ge=0, lt=1)  # running = momentum * running + (1 - momentum) * batch
    eps: float = Field(1e-5, gt=0, le=1)


class BatchNorm(Layer):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta, with batch statistics in training.

    Input (N, F) is normalized per feature over the batch; input (N, C, *spatial) per channel over
    the batch and the spatial axes. Running statistics (kept in `state`, never trained) follow
    running = momentum * running + (1 - momentum) * batch, with the unbiased batch variance as in
    PyTorch, and replace the batch statistics at inference.
    """

    Spec = BatchNormSpec

    def __init__(self, momentum: float = 0.9, eps: float = 1e-5):
        super().__init__()
        self.momentum = float(momentum)
        self.eps = float(eps)

    @classmethod
    def estimate(cls, spec, input_shape):
        return 2 * input_shape[0], tuple(input_shape)  # gamma and beta per feature or channel

    def build(self, input_shape, rng, dtype):
        channels = input_shape[0]
        self._shape = tuple(input_shape)
        self._axes = (0, *range(2, len(input_shape) + 1))  # every axis but the feature/channel axis
        self._bshape = (1, channels) + (1,) * (len(input_shape) - 1)  # broadcasts (C,) against x
        self.params = {"gamma": np.ones(channels, dtype=dtype), "beta": np.zeros(channels, dtype=dtype)}
        self.grads = {k: np.zeros_like(p) for k, p in self.params.items()}
        self.state = {
            "running_mean": np.zeros(channels, dtype=dtype),
            "running_var": np.ones(channels, dtype=dtype),
        }
        return tuple(input_shape)

    def forward(self, x, training):
        gamma = self.params["gamma"].reshape(self._bshape)
        beta = self.params["beta"].reshape(self._bshape)
        if not training:
            mean = self.state["running_mean"].reshape(self._bshape)
            inv_std = 1.0 / np.sqrt(self.state["running_var"].reshape(self._bshape) + self.eps)
            return (x - mean) * (gamma * inv_std) + beta
        m = x.size // x.shape[1]  # values per feature in this batch
        mean = x.mean(axis=self._axes, keepdims=True)
        xc = x - mean
        var = np.mean(xc * xc, axis=self._axes, keepdims=True)  # biased: what normalizes this batch
        self._inv_std = 1.0 / np.sqrt(var + self.eps)
        self._xhat = xc * self._inv_std  # backward needs the normalized input
        self._update_running(mean, var, m)
        return gamma * self._xhat + beta

    def _update_running(self, mean, var, m):
        unbiased = m / (m - 1) if m > 1 else 1.0
        for name, batch in (("running_mean", mean), ("running_var", var * unbiased)):
            running = self.state[name]
            running *= self.momentum
            running += (1.0 - self.momentum) * batch.reshape(running.shape)

    def backward(self, dy):
        xhat, axes = self._xhat, self._axes
        m = dy.size // dy.shape[1]
        np.sum(dy * xhat, axis=axes, out=self.grads["gamma"])  # (C,)
        np.sum(dy, axis=axes, out=self.grads["beta"])
        # dx = gamma / std * (dy - mean(dy) - xhat * mean(dy * xhat)), the means over each feature's batch
        dgamma = self.grads["gamma"].reshape(self._bshape)
        dbeta = self.grads["beta"].reshape(self._bshape)
        scale = self.params["gamma"].reshape(self._bshape) * self._inv_std
        return scale * (dy - (dbeta + xhat * dgamma) * (1.0 / m))

    def explain(self) -> dict[str, list[str]]:
        per = "feature, over the batch" if len(self._shape) == 1 else "channel, over the batch and the pixels"
        return {
            "forward": [
                f"μ = mean(x),  σ² = mean((x − μ)²)   (per {per})",
                f"x̂ = (x − μ) / √(σ² + {self.eps:g})",
                "y = γ ⊙ x̂ + β",
                f"running = {self.momentum:g}·running + {1 - self.momentum:g}·batch   (used at inference instead)",
            ],
            "backward": [
                "dγ = Σ dy ⊙ x̂,  dβ = Σ dy",
                "dx = γ / √(σ² + ε) ⊙ (dy − (dβ + x̂ ⊙ dγ) / m)   (m values per feature: μ and σ² depend on x too)",
            ],
        }

    def flops(self, batch: int) -> tuple[int, int]:
        n, channels = batch * math.prod(self._shape), self._shape[0]
        # forward: mean, x - mean, square, mean, * inv_std, * gamma, + beta; 3 per channel for inv_std and 4
        # for the running averages. backward: dy * xhat, two sums, dbeta + xhat dgamma (2), / m, dy -, scale *
        return 7 * n + 7 * channels, 8 * n + channels
