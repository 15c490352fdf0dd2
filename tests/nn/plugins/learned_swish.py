"""A user's layer as the docs show it: swish with a learnable beta per feature (a plugin test fixture)."""

import numpy as np

from backprop_cli import Layer


class LearnedSwish(Layer):
    """y = x * sigmoid(beta * x), beta: (F,) learned, starting at `beta`."""

    def __init__(self, beta=1.0):
        super().__init__()
        self.beta0 = float(beta)

    def build(self, input_shape, rng, dtype):
        self.params = {"beta": np.full(input_shape[0], self.beta0, dtype=dtype)}
        self.grads = {"beta": np.zeros_like(self.params["beta"])}
        return tuple(input_shape)

    def forward(self, x, training):
        self._x = x
        self._s = 0.5 * (1.0 + np.tanh(0.5 * self.params["beta"] * x))  # sigmoid(beta x), never overflows
        return x * self._s

    def backward(self, dy):
        x, s, beta = self._x, self._s, self.params["beta"]
        ds = dy * x * s * (1.0 - s)  # through sigmoid: s' = s (1 - s)
        self.grads["beta"][...] = np.sum(ds * x, axis=0)  # (F,): d(beta x)/d beta = x
        return dy * s + ds * beta  # product rule: y = x * s(beta x)

    def to_onnx(self, g, x, name):
        """The export hook: the same forward in ONNX operators."""
        beta = g.const(f"{name}.beta", self.params["beta"])
        s = g.op("Sigmoid", [g.op("Mul", [x, beta], f"{name}.bx")], f"{name}.s")
        return g.op("Mul", [x, s], name)
