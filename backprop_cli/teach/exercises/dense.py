"""Exercise: the backward pass of a fully connected layer.

Write `backward` below, then grade it against backprop's own layer:

    backprop exercise check THIS_FILE

Once every gradient is right, this file is a layer you can train with, beside your config:

    - {type: plugin, path: THIS_FILE, class: Dense, args: {units: 64}}
"""

import numpy as np

from backprop_cli import Layer

EXERCISE = "dense"


class Dense(Layer):
    """y = x @ W + b;  x: (N, fan_in) -> y: (N, units)."""

    regularized = ("W",)  # L1/L2 penalties apply to the weights, not to the bias

    def __init__(self, units):
        super().__init__()
        self.units = int(units)

    def build(self, input_shape, rng, dtype):
        (fan_in,) = input_shape
        limit = np.sqrt(6.0 / (fan_in + self.units))  # Glorot uniform: keeps the output's variance near the input's
        self.params = {
            "W": rng.uniform(-limit, limit, (fan_in, self.units)).astype(dtype),
            "b": np.zeros(self.units, dtype=dtype),
        }
        self.grads = {key: np.zeros_like(p) for key, p in self.params.items()}
        return (self.units,)

    def forward(self, x, training):
        self.x = x  # backward needs the input
        return x @ self.params["W"] + self.params["b"]  # (N, fan_in) @ (fan_in, units)

    def backward(self, dy):
        """Given dy = dL/dy, write dL/dW and dL/db into self.grads and return dL/dx.

        Shapes: x (N, fan_in), W (fan_in, units), b (units,), dy (N, units);
                dW (fan_in, units), db (units,), dx (N, fan_in): each gradient has its tensor's shape.

        Chain rule, from y[n, j] = sum_i x[n, i] W[i, j] + b[j]:
            dL/dW[i, j] = sum_n x[n, i] dy[n, j]     every example adds its share: a matrix product
            dL/db[j]    = sum_n dy[n, j]             b is added to every row
            dL/dx[n, i] = sum_j dy[n, j] W[i, j]
        Match the shapes and the transposes follow. Write each gradient in place,
        self.grads["W"][...] = ..., because the optimizer reads those very arrays.
        """
        self.grads["W"][...] = self.x.T @ dy  # (fan_in, N) @ (N, units)
        self.grads["b"][...] = dy.sum(axis=0)  # (units,)
        return dy @ self.params["W"].T  # (N, units) @ (units, fan_in)
