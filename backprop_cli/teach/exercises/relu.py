"""Exercise: the backward pass of the rectified linear unit.

Write `backward` below, then grade it against backprop's own layer:

    backprop exercise check THIS_FILE

Once it is right, this file is a layer you can train with, beside your config:

    - {type: plugin, path: THIS_FILE, class: ReLU}
"""

import numpy as np

from backprop_cli import Layer

EXERCISE = "relu"


class ReLU(Layer):
    """y = max(x, 0), elementwise; no parameters, the output has the input's shape."""

    def forward(self, x, training):
        self.x = x  # backward needs to know where x was positive
        return np.maximum(x, 0.0)

    def backward(self, dy):
        """Given dy = dL/dy, return dL/dx (ReLU has no parameters, so no gradients to write).

        Shapes: x (N, ...), dy (N, ...), dx (N, ...): all the same.

        Chain rule, elementwise: dL/dx = dL/dy * dy/dx, and dy/dx is 1 where x > 0, else 0.
        A gradient reaching a unit that was off is stopped there.
        """
        return dy * (self.x > 0)
