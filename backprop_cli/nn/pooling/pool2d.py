"""Max and average pooling over k x k windows of images (N, C, H, W), per channel; no parameters."""

from __future__ import annotations

import numpy as np

from backprop_cli.nn.base import Layer
from backprop_cli.nn.conv.windows import offsets, window_geometry
from backprop_cli.nn.kernels import conv as conv_kernels


class Pool2D(Layer):
    """The shared part: window size k, stride s (default k: windows tile the image without overlap).

    x: (N, C, H, W) -> y: (N, C, OH, OW), OH = (H - k) // s + 1; rows and columns that no whole
    window covers are dropped (and get a zero gradient), as in PyTorch and Keras' "valid". Each pass
    loops over the k*k offsets of a window, one strided slice each, in x's own memory layout.
    """

    kind = "pool2d"

    def __init__(self, pool_size: int = 2, stride: int | None = None):
        super().__init__()
        self.pool_size = int(pool_size)
        self.stride = int(stride) if stride is not None else self.pool_size

    def build(self, input_shape, rng, dtype):
        self._channels = input_shape[0]  # for flops()
        _, self._out_hw = window_geometry(input_shape, self.pool_size, self.stride, 0, self.kind)
        self._dtype = dtype
        self._offsets = offsets(self.pool_size, self.stride, self._out_hw)
        return (input_shape[0], *self._out_hw)

    def _dx_and_dy(self, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Zeros for dx, and dy, both in x's memory layout (dy may arrive C-ordered, from flatten):
        one copy here, so that each strided operation below streams through memory in one order."""
        dx = np.zeros_like(self._x, dtype=dy.dtype)
        dy_like_x = np.empty_like(dx[..., self._offsets[0][2], self._offsets[0][3]])
        if dy.strides == dy_like_x.strides:
            return dx, dy
        np.copyto(dy_like_x, dy)
        return dx, dy_like_x


class MaxPool2D(Pool2D):
    """y[n, c, i, j] = max_{p, q} x[n, c, s*i + p, s*j + q];  dx = dy at the argmax of each window, 0 elsewhere.

    Ties: the first maximum in row-major window order takes the whole gradient (a subgradient);
    with overlapping windows, a pixel that is the max of several windows collects each one's dy.
    """

    kind = "maxpool2d"

    def warm_up(self) -> None:
        conv_kernels.warm_up(self._dtype)

    def forward(self, x, training):
        self._kern = kern = conv_kernels.kernels()
        if kern:
            return self._forward_kernel(kern, x, training)
        self._x = x  # backward allocates dx in x's memory layout
        views = [x[..., rows, cols] for _, _, rows, cols in self._offsets]  # k*k of (N, C, OH, OW)
        y = views[0].copy(order="K")
        for v in views[1:]:
            np.maximum(y, v, out=y)
        if training:
            self._masks = self._argmax_masks(views, y)
        return y

    def _forward_kernel(self, kern: dict, x: np.ndarray, training: bool) -> np.ndarray:
        """One compiled pass over x batch-last (C, H, W, N): the maximum of each window and its offset."""
        xt = np.ascontiguousarray(x.transpose(1, 2, 3, 0))  # no copy after conv2d (batch-last already)
        c, _, _, n = xt.shape
        y = np.empty((c, *self._out_hw, n), dtype=x.dtype)
        arg = np.empty(y.shape, dtype=np.int32)  # as wide as y: a byte-wide arg stops the kernel vectorizing
        kern["maxpool"](xt, y, arg, self.pool_size, self.stride)
        if training:
            self._arg, self._x_chw = arg, xt.shape[:3]
        return y.transpose(3, 0, 1, 2)  # (N, C, OH, OW), batch-last in memory

    @staticmethod
    def _argmax_masks(views: list[np.ndarray], y: np.ndarray) -> list[np.ndarray]:
        """One boolean (N, C, OH, OW) per window offset: True where that offset holds the window's max."""
        free = np.ones_like(y, dtype=bool)  # windows whose maximum is not yet claimed
        masks = []
        for v in views:
            hit = v == y
            hit &= free  # a tie: only the first maximum in row-major order takes the gradient
            free ^= hit
            masks.append(hit)
        return masks

    def backward(self, dy):
        if self._kern:
            dyt = np.ascontiguousarray(dy.transpose(1, 2, 3, 0))  # (C, OH, OW, N)
            dx = np.empty((*self._x_chw, dyt.shape[3]), dtype=dyt.dtype)
            self._kern["maxpool_backward"](dyt, self._arg, dx, self.pool_size, self.stride)
            return dx.transpose(3, 0, 1, 2)
        dx, dy = self._dx_and_dy(dy)
        for mask, (_, _, rows, cols) in zip(self._masks, self._offsets, strict=True):
            dx[..., rows, cols] += dy * mask  # dy goes to the pixel that was each window's max
        return dx

    def explain(self) -> dict[str, list[str]]:
        k, s = self.pool_size, self.stride
        return {
            "forward": [f"y[n,c,i,j] = max_p,q x[n,c,{s}·i+p,{s}·j+q]   ({k}×{k} windows, stride {s}; argmax kept)"],
            "backward": ["dx = dy at the argmax of each window, 0 elsewhere   (only the max influenced y)"],
        }

    def flops(self, batch: int) -> tuple[int, int]:
        k2 = self.pool_size**2
        return (k2 - 1) * _windows(self, batch), _windows(self, batch)  # k² - 1 comparisons; dy added at the argmax


class AvgPool2D(Pool2D):
    """y[n, c, i, j] = mean_{p, q} x[n, c, s*i + p, s*j + q];  each pixel gets dy / (k*k) from each window."""

    kind = "avgpool2d"

    def forward(self, x, training):
        self._x = x  # backward allocates dx in x's memory layout
        _, _, rows, cols = self._offsets[0]
        y = x[..., rows, cols].copy(order="K")
        for _, _, rows, cols in self._offsets[1:]:
            y += x[..., rows, cols]
        y *= 1.0 / len(self._offsets)  # a Python float: y stays in its dtype
        return y

    def backward(self, dy):
        dx, dy = self._dx_and_dy(dy)
        share = dy * (1.0 / len(self._offsets))  # (N, C, OH, OW): what each pixel of a window gets
        for _, _, rows, cols in self._offsets:
            dx[..., rows, cols] += share
        return dx

    def explain(self) -> dict[str, list[str]]:
        k, s = self.pool_size, self.stride
        return {
            "forward": [f"y[n,c,i,j] = mean_p,q x[n,c,{s}·i+p,{s}·j+q]   ({k}×{k} windows, stride {s})"],
            "backward": [f"dx[n,c,{s}·i+p,{s}·j+q] += dy[n,c,i,j] / {k * k}   (each pixel gets an equal share)"],
        }

    def flops(self, batch: int) -> tuple[int, int]:
        k2 = self.pool_size**2
        return k2 * _windows(self, batch), (k2 + 1) * _windows(self, batch)  # k² - 1 adds, a scale; a scale, k² adds


def _windows(pool: Pool2D, batch: int) -> int:
    """How many windows a batch holds: N * C * OH * OW (each pool counts its own FLOPs per window)."""
    return batch * pool._channels * pool._out_hw[0] * pool._out_hw[1]
