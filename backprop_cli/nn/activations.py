"""Activation layers: elementwise (or, for softmax, per-row) maps with no parameters.

Each keeps the last forward only, and keeps the output rather than the input where the derivative
can be written in terms of the output. Constants are Python floats: a float32 input stays float32.
"""

from __future__ import annotations

import math

import numpy as np

from backprop_cli.nn.base import Layer


class ReLU(Layer):
    """y = max(x, 0);  dy/dx = 1[x > 0]."""

    def forward(self, x, training):
        self._mask = x > 0  # the whole derivative, as a boolean mask
        return np.maximum(x, 0)

    def backward(self, dy):
        return dy * self._mask  # one multiply: this is the hot path


class LeakyReLU(Layer):
    """y = x if x > 0 else alpha * x;  dy/dx = 1 or alpha."""

    def __init__(self, alpha: float = 0.01):
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, x, training):
        self._mask = x > 0
        return np.where(self._mask, x, self.alpha * x)

    def backward(self, dy):
        return np.where(self._mask, dy, self.alpha * dy)


class ELU(Layer):
    """y = x if x > 0 else alpha (e^x - 1);  dy/dx = 1 or y + alpha (so only the output is kept)."""

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, x, training):
        # expm1 of min(x, 0): the positive branch never overflows, and small |x| keeps its precision
        self._y = np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0)))
        return self._y

    def backward(self, dy):
        y = self._y
        return np.where(y > 0, dy, dy * (y + self.alpha))  # y > 0 exactly where x > 0


_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_A = 0.044715


class GELU(Layer):
    """y = x Phi(x) in the tanh approximation 0.5 x (1 + tanh(c (x + a x^3))), c = sqrt(2/pi), a = 0.044715.

    The exact form needs erf, which NumPy does not vectorize (math.erf is scalar); the tanh form is
    what GPT-2 and BERT use, and the derivative below is the exact derivative of this approximation.
    """

    def forward(self, x, training):
        self._x = x
        self._t = np.tanh(_GELU_C * (x + _GELU_A * (x * x * x)))  # x * x * x: x**3 calls pow(), ~1000x slower
        return 0.5 * x * (1.0 + self._t)

    def backward(self, dy):
        x, t = self._x, self._t
        # d/dx [0.5 x (1 + t)] = 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 a x^2)
        du = _GELU_C * (1.0 + 3.0 * _GELU_A * x * x)
        return dy * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du)


class Sigmoid(Layer):
    """y = 1 / (1 + e^-x);  dy/dx = y (1 - y)."""

    def forward(self, x, training):
        self._y = 0.5 * (1.0 + np.tanh(0.5 * x))  # equals 1/(1+exp(-x)) and never overflows
        return self._y

    def backward(self, dy):
        return dy * self._y * (1.0 - self._y)


class Tanh(Layer):
    """y = tanh(x);  dy/dx = 1 - y^2."""

    def forward(self, x, training):
        self._y = np.tanh(x)
        return self._y

    def backward(self, dy):
        return dy * (1.0 - self._y * self._y)


class Softmax(Layer):
    """y_i = e^{x_i} / sum_j e^{x_j} over the last axis;  dx = y * (dy - sum(dy * y)).

    For classification prefer a linear last layer and the fused `cross_entropy` loss: it is cheaper
    and stable where softmax followed by a log is not.
    """

    def forward(self, x, training):
        z = x - np.max(x, axis=-1, keepdims=True)  # shift: exp never overflows, result unchanged
        np.exp(z, out=z)
        z /= np.sum(z, axis=-1, keepdims=True)
        self._y = z
        return z

    def backward(self, dy):
        y = self._y
        return y * (dy - np.sum(dy * y, axis=-1, keepdims=True))


class Linear(Layer):
    """y = x;  dy/dx = 1."""

    def forward(self, x, training):
        return x

    def backward(self, dy):
        return dy


ACTIVATIONS: dict[str, type[Layer]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "elu": ELU,
    "gelu": GELU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "softmax": Softmax,
    "linear": Linear,
}
