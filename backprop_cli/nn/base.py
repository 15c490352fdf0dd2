"""The layer contract: the smallest thing every layer keeps."""

from __future__ import annotations

import numpy as np


class Layer:
    """A differentiable map with explicit forward and backward passes.

    params, grads : dict[str, ndarray]  same keys and shapes; keys are checkpoint names (W, b, gamma, beta)
    state         : dict[str, ndarray]  saved with the model, never trained (running_mean, running_var)
    regularized   : names in `params` that L1/L2 penalties and weight decay apply to (weights, not biases)
    """

    regularized: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.state: dict[str, np.ndarray] = {}

    def build(self, input_shape: tuple[int, ...], rng: np.random.Generator, dtype) -> tuple[int, ...]:
        """Allocate parameters for inputs of shape (N, *input_shape); return the per-example output shape."""
        return tuple(input_shape)

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        """y = f(x); keeps what backward needs, for this call only."""
        raise NotImplementedError

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Given dL/dy, overwrite `grads` in place (never accumulate) and return dL/dx."""
        raise NotImplementedError

    def children(self) -> list[tuple[str, Layer]]:
        """Containers list their parts; dotted checkpoint names come from this walk."""
        return []
