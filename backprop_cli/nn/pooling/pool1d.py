"""Max and average pooling over windows of steps of sequences (N, C, L), per channel; no parameters."""

from __future__ import annotations

import numpy as np

from backprop_cli.nn.base import Layer
from backprop_cli.nn.conv.windows import offsets_1d, window_geometry_1d
from backprop_cli.nn.pooling.pool2d import MaxPool2D


class Pool1D(Layer):
    """Window k, stride s (default k). x: (N, C, L) -> y: (N, C, OL), OL = (L - k) // s + 1; the steps no
    whole window covers are dropped (zero gradient), as in PyTorch. Each pass loops over the k taps."""

    kind = "pool1d"

    def __init__(self, pool_size: int = 2, stride: int | None = None):
        super().__init__()
        self.pool_size = int(pool_size)
        self.stride = int(stride) if stride is not None else self.pool_size

    @classmethod
    def estimate(cls, spec, shape: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
        _, out_len = window_geometry_1d(shape, spec.pool_size, spec.stride or spec.pool_size, 0, spec.type)
        return 0, (shape[0], out_len)

    def build(self, input_shape, rng, dtype):
        _, self._out_len = window_geometry_1d(input_shape, self.pool_size, self.stride, 0, self.kind)
        self._offsets = offsets_1d(self.pool_size, self.stride, self._out_len)
        self._c = input_shape[0]
        return (input_shape[0], self._out_len)

    def flops(self, batch: int) -> tuple[int, int]:
        ops = batch * self._c * self._out_len * self.pool_size
        return ops, ops


class MaxPool1D(Pool1D):
    """y[n, c, i] = max_p x[n, c, s·i + p];  dx = dy at each window's argmax (the first, on ties), 0 elsewhere."""

    kind = "maxpool1d"

    def forward(self, x, training):
        self._x = x  # backward allocates dx in x's memory layout (batch-last after conv1d)
        views = [x[..., steps] for _, steps in self._offsets]  # k of (N, C, OL)
        y = views[0].copy(order="K")
        for v in views[1:]:
            np.maximum(y, v, out=y)
        if training:
            self._masks = MaxPool2D._argmax_masks(views, y)
        return y

    def backward(self, dy):
        dx = np.zeros_like(self._x, dtype=dy.dtype)  # x's layout: conv1d's backward reads it without a copy
        for mask, (_, steps) in zip(self._masks, self._offsets, strict=True):
            dx[..., steps] += dy * mask  # dy goes to the step that was each window's max
        return dx

    def explain(self) -> dict[str, list[str]]:
        return {
            "forward": [f"y[n, c, i] = max_(p<{self.pool_size}) x[n, c, {self.stride}i + p]"],
            "backward": ["dx[n, c, si + p*] += dy[n, c, i] at each window's argmax p*, 0 elsewhere"],
        }


class AvgPool1D(Pool1D):
    """y[n, c, i] = mean_p x[n, c, s·i + p];  each step gets dy / k from each window it is in."""

    kind = "avgpool1d"

    def forward(self, x, training):
        self._x = x
        y = x[..., self._offsets[0][1]].copy(order="K")
        for _, steps in self._offsets[1:]:
            y += x[..., steps]
        y *= 1.0 / self.pool_size
        return y

    def backward(self, dy):
        dx = np.zeros_like(self._x, dtype=dy.dtype)
        share = dy * (1.0 / self.pool_size)
        for _, steps in self._offsets:
            dx[..., steps] += share
        return dx

    def explain(self) -> dict[str, list[str]]:
        k = self.pool_size
        return {
            "forward": [f"y[n, c, i] = (1/{k}) Σ_(p<{k}) x[n, c, {self.stride}i + p]"],
            "backward": [f"dx[n, c, si + p] += dy[n, c, i] / {k}"],
        }
