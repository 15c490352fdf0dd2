"""The 1-D convolution layer over sequences (C, L): cross-correlation with stride, padding and dilation, via im2col."""

from __future__ import annotations

import numpy as np

from backprop_cli.nn.conv.windows import offsets_1d, window_geometry_1d
from backprop_cli.nn.core.weighted import WeightLayer
from backprop_cli.nn.initializers import initialize
from backprop_cli.nn.kernels.blas import one_blas_thread


class Conv1D(WeightLayer):
    """y[n, f, i] = act(b[f] + Σ_{c, p} W[f, c, p] · x_pad[n, c, s·i + d·p]);  x: (N, C, L) -> y: (N, F, OL).

    OL = (L + pad_left + pad_right - d·(k - 1) - 1) // s + 1; W: (F, C, k) as PyTorch's Conv1d, b: (F,).
    `padding="same"` gives OL = ceil(L / s), the odd step padded on the right (as in Keras).

    As conv2d: forward copies the k taps of every window into cols (C·k, OL·N), one strided slice per
    tap (no loop over examples or positions), so the layer is one matmul each way; inside, sequences
    are laid out batch-last (C, L, N) and the output is an (N, F, OL) view of (F, OL, N) memory.
    """

    def __init__(
        self,
        filters: int,
        kernel_size: int,
        stride: int = 1,
        padding: int | str = 0,
        dilation: int = 1,
        activation: str | None = None,
        init: str | None = None,
        init_scale: float = 0.05,
        use_bias: bool = True,
    ):
        super().__init__(activation, init, init_scale, use_bias)
        self.filters, self.kernel_size, self.stride = int(filters), int(kernel_size), int(stride)
        self.padding, self.dilation = padding, int(dilation)

    @classmethod
    def estimate(cls, spec, shape: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
        """(parameter count, output shape) from a spec alone, checking the input is a sequence that fits."""
        _, out_len = window_geometry_1d(shape, spec.kernel_size, spec.stride, spec.padding, spec.type, spec.dilation)
        return spec.filters * (shape[0] * spec.kernel_size + spec.use_bias), (spec.filters, out_len)

    def build(self, input_shape, rng, dtype):
        k, s, d = self.kernel_size, self.stride, self.dilation
        self._pads, self._out_len = window_geometry_1d(input_shape, k, s, self.padding, "conv1d", d)
        self._offsets = offsets_1d(k, s, self._out_len, d)
        self._in = tuple(input_shape)
        shape = (self.filters, input_shape[0], k)  # (F, C, k)
        self.params = {"W": initialize(self.init, shape, rng, dtype, self.init_scale)}
        if self.use_bias:
            self.params["b"] = np.zeros(self.filters, dtype=dtype)
        self.grads = {key: np.zeros_like(p) for key, p in self.params.items()}
        return (self.filters, self._out_len)

    def _padded(self, x: np.ndarray) -> np.ndarray:
        """x as (C, L_pad, N) with zero borders."""
        xt = x.transpose(1, 2, 0)  # (C, L, N): a view
        left, right = self._pads
        if not (left or right):
            return xt
        c, length, n = xt.shape
        xp = np.zeros((c, left + length + right, n), dtype=x.dtype)
        xp[:, left : left + length] = xt
        return xp

    def forward(self, x, training):
        with one_blas_thread(self.flops(x.shape[0])[0]):
            return self._forward(x, training)

    def backward(self, dy):
        with one_blas_thread(self.flops(dy.shape[0])[0]):
            return self._backward(dy)

    def _forward(self, x, training):
        xp = self._padded(x)  # (C, Lp, N)
        self._x_shape = x.shape
        k, ol, n = self.kernel_size, self._out_len, x.shape[0]
        cols = np.empty((xp.shape[0], k, ol, n), dtype=x.dtype)
        for p, steps in self._offsets:
            cols[:, p] = xp[:, steps]  # tap p of every window: (C, OL, N)
        self._cols = cols = cols.reshape(-1, ol * n)  # (C·k, OL·N); dW needs it
        z = (self.params["W"].reshape(self.filters, -1) @ cols).reshape(self.filters, ol, n)  # (F, C·k) @ (C·k, OL·N)
        if self.use_bias:
            z += self.params["b"].reshape(-1, 1, 1)
        z = z.transpose(2, 0, 1)  # (N, F, OL): a view, batch-last in memory
        return z if self.act is None else self.act.forward(z, training)

    def _backward(self, dy):
        dz = dy if self.act is None else self.act.backward(dy)  # (N, F, OL)
        dz2 = dz.transpose(1, 2, 0).reshape(self.filters, -1)  # (F, OL·N)
        np.matmul(dz2, self._cols.T, out=self.grads["W"].reshape(self.filters, -1))  # (F, OL·N) @ (OL·N, C·k)
        if self.use_bias:
            np.sum(dz2, axis=1, out=self.grads["b"])
        if not self.input_grad:
            return None
        dcols = self.params["W"].reshape(self.filters, -1).T @ dz2  # (C·k, F) @ (F, OL·N)
        n, c, length = self._x_shape
        left, right = self._pads
        dcols = dcols.reshape(c, self.kernel_size, self._out_len, n)
        dxp = np.zeros((c, left + length + right, n), dtype=dcols.dtype)
        for p, steps in self._offsets:
            dxp[:, steps] += dcols[:, p]  # a step inside several windows collects each one's gradient
        return dxp[:, left : left + length].transpose(2, 0, 1)  # (N, C, L): a view

    def explain(self) -> dict[str, list[str]]:
        s, d = self.stride, self.dilation
        return {
            "forward": [f"y[n, f, i] = {self.activation or 'linear'}(b[f] + Σ_c Σ_p W[f, c, p]·x[n, c, {s}i + {d}p])"],
            "backward": [
                "dW[f, c, p] = Σ_n Σ_i dz[n, f, i]·x[n, c, si + dp]   (cols · dzᵀ)",
                "db[f] = Σ_n Σ_i dz[n, f, i]",
                "dx[n, c, si + dp] += Σ_f W[f, c, p]·dz[n, f, i]   (a step in several windows adds their gradients)",
            ],
        }

    def flops(self, batch: int) -> tuple[int, int]:
        c = self._in[0]
        macs = batch * self.filters * self._out_len * c * self.kernel_size
        return 2 * macs, 4 * macs  # backward: dW and dx, one matmul each
