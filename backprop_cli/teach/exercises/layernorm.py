"""Exercise: the backward pass of layer normalization.

Write `backward` below, then grade it against backprop's own layer:

    backprop exercise check THIS_FILE

Once every gradient is right, this file is a layer you can train with, beside your config:

    - {type: plugin, path: THIS_FILE, class: LayerNorm}
"""

import numpy as np

from backprop_cli import Layer

EXERCISE = "layernorm"


class LayerNorm(Layer):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta, mean and var over the features (axis 1) of each example.

    x: (N, C) or a sequence (N, C, L), normalized at every step on its own; gamma, beta: (C,).
    Unlike batchnorm, no example sees another, so training and inference compute the same thing.
    """

    def __init__(self, eps=1e-5):
        super().__init__()
        self.eps = float(eps)

    def build(self, input_shape, rng, dtype):
        channels = input_shape[0]
        self.bshape = (channels,) + (1,) * (len(input_shape) - 1)  # (C,) or (C, 1): broadcasts over the steps
        self.params = {"gamma": np.ones(channels, dtype=dtype), "beta": np.zeros(channels, dtype=dtype)}
        self.grads = {key: np.zeros_like(p) for key, p in self.params.items()}
        return tuple(input_shape)

    def forward(self, x, training):
        mean = x.mean(axis=1, keepdims=True)  # (N, 1[, L])
        var = ((x - mean) ** 2).mean(axis=1, keepdims=True)
        self.inv_std = 1.0 / np.sqrt(var + self.eps)  # (N, 1[, L])
        self.xhat = (x - mean) * self.inv_std  # (N, C[, L]): backward needs it
        return self.params["gamma"].reshape(self.bshape) * self.xhat + self.params["beta"].reshape(self.bshape)

    def backward(self, dy):
        """Given dy = dL/dy, write dL/dgamma and dL/dbeta into self.grads and return dL/dx.

        Shapes: x, xhat, dy, dx (N, C[, L]); inv_std (N, 1[, L]); gamma, beta, dgamma, dbeta (C,).

        Chain rule. gamma and beta are shared by every example (and step): their gradients sum over
        every axis but the features. For dx, each x[n, c] moves its own xhat and also its example's
        mean and variance: with dxhat = dy * gamma,
            dx = inv_std * (dxhat - mean_C(dxhat) - xhat * mean_C(dxhat * xhat))
        where mean_C averages over the features (axis 1), as the forward pass did.
        Write each gradient in place: self.grads["gamma"][...] = ...
        """
        others = tuple(axis for axis in range(dy.ndim) if axis != 1)  # every axis but the features
        self.grads["gamma"][...] = np.sum(dy * self.xhat, axis=others)  # (C,)
        self.grads["beta"][...] = np.sum(dy, axis=others)  # (C,)
        dxhat = dy * self.params["gamma"].reshape(self.bshape)
        mean_d = dxhat.mean(axis=1, keepdims=True)
        mean_dx = (dxhat * self.xhat).mean(axis=1, keepdims=True)
        return self.inv_std * (dxhat - mean_d - self.xhat * mean_dx)
