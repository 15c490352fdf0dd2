"""Exercise: the backward pass of the logistic sigmoid.

Write `backward` below, then grade it against backprop's own layer:

    backprop exercise check THIS_FILE

Once it is right, this file is a layer you can train with, beside your config:

    - {type: plugin, path: THIS_FILE, class: Sigmoid}
"""

import numpy as np

from backprop_cli import Layer

EXERCISE = "sigmoid"


class Sigmoid(Layer):
    """y = 1 / (1 + e^-x), elementwise; no parameters, the output has the input's shape."""

    def forward(self, x, training):
        self.y = 0.5 * (1.0 + np.tanh(0.5 * x))  # equals 1 / (1 + e^-x), and never overflows
        return self.y

    def backward(self, dy):
        """Given dy = dL/dy, return dL/dx (no parameters, no gradients to write).

        Shapes: y (N, ...), dy (N, ...), dx (N, ...): all the same.

        Chain rule, elementwise: dL/dx = dL/dy * dy/dx. Differentiate 1 / (1 + e^-x) and write the
        result in terms of y itself: that is why forward kept the output, not the input.
        """
        return dy * self.y * (1.0 - self.y)
