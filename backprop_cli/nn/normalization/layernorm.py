"""Layer normalization: each example (and each step of a sequence) normalized over its features."""

from __future__ import annotations

import numpy as np

from backprop_cli.nn.base import Layer
from backprop_cli.nn.kernels import layernorm as layernorm_kernels


class LayerNorm(Layer):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta, mean and var over the feature axis 1.

    x (N, C) or (N, C, L): the statistics of every example (at every step) are its own, so training and
    inference compute the same thing and there is no running state. gamma, beta: (C,).
    dx = gamma / std * (dy - mean_C(dy) - xhat * mean_C(dy * xhat)) with dy scaled by gamma first.
    """

    def __init__(self, eps: float = 1e-5):
        super().__init__()
        self.eps = float(eps)

    def build(self, input_shape, rng, dtype):
        channels = int(input_shape[0])
        self._bshape = (channels,) + (1,) * (len(input_shape) - 1)  # (C,) broadcast over the steps
        self._others = (0, *range(2, len(input_shape) + 1))  # every axis but the features
        self._size = int(np.prod(input_shape))
        self.params = {"gamma": np.ones(channels, dtype=dtype), "beta": np.zeros(channels, dtype=dtype)}
        self.grads = {k: np.zeros_like(p) for k, p in self.params.items()}
        return tuple(input_shape)

    def forward(self, x, training):
        kern = layernorm_kernels.kernels()
        self._kern = None
        if kern and x.dtype == self.params["gamma"].dtype:  # one example at a time (kernels/layernorm.py)
            x3 = layernorm_kernels.as_3d(x)
            y, self._xhat = np.empty(x3.shape, x.dtype), np.empty(x3.shape, x.dtype)
            self._inv_std = np.empty((x3.shape[0], x3.shape[2]), dtype=x.dtype)  # (N, L)
            gamma, beta, eps = self.params["gamma"], self.params["beta"], x.dtype.type(self.eps)
            kern["layernorm"](x3, gamma, beta, eps, y, self._xhat, self._inv_std)
            self._kern = kern
            return y.reshape(x.shape)
        mean = x.mean(axis=1, keepdims=True)  # (N, 1[, L])
        xc = x - mean
        var = np.mean(xc * xc, axis=1, keepdims=True)
        self._inv_std = 1.0 / np.sqrt(var + self.eps)
        self._xhat = xc * self._inv_std  # backward needs the normalized input
        return self._xhat * self.params["gamma"].reshape(self._bshape) + self.params["beta"].reshape(self._bshape)

    def backward(self, dy):
        if self._kern is not None:
            return self._backward_kernel(dy)
        xhat = self._xhat
        np.sum(dy * xhat, axis=self._others, out=self.grads["gamma"])  # (C,)
        np.sum(dy, axis=self._others, out=self.grads["beta"])
        dxhat = dy * self.params["gamma"].reshape(self._bshape)
        mean_d = dxhat.mean(axis=1, keepdims=True)
        mean_dx = np.mean(dxhat * xhat, axis=1, keepdims=True)
        return self._inv_std * (dxhat - mean_d - xhat * mean_dx)

    def _backward_kernel(self, dy):
        """The rule below, one example at a time in a kernel; dgamma and dbeta summed by NumPy as the rule does."""
        xhat = self._xhat  # (N, C, L)
        dy3 = layernorm_kernels.as_3d(dy)
        np.sum(dy3 * xhat, axis=(0, 2), out=self.grads["gamma"])  # (C,)
        np.sum(dy3, axis=(0, 2), out=self.grads["beta"])
        dx = np.empty_like(xhat)
        self._kern["layernorm_backward"](dy3, xhat, self.params["gamma"], self._inv_std, dx)
        return dx.reshape(dy.shape)

    def warm_up(self) -> None:
        """Compile (or load) the kernels before a timed loop starts."""
        layernorm_kernels.warm_up(self.params["gamma"].dtype)

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
