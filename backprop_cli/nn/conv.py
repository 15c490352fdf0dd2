"""The 2-D convolution layer (cross-correlation, as in every deep-learning library), via im2col."""

from __future__ import annotations

import numpy as np

from backprop_cli.nn.initializers import initialize
from backprop_cli.nn.weighted import WeightLayer
from backprop_cli.nn.windows import offsets, window_geometry


class Conv2D(WeightLayer):
    """y[n, f, i, j] = act(b[f] + sum_{c, p, q} W[f, c, p, q] * x_pad[n, c, s*i + p, s*j + q]).

    x: (N, C, H, W) -> y: (N, F, OH, OW), OH = (H + pad_top + pad_bottom - k) // s + 1; W: (F, C, k, k),
    b: (F,), the checkpoint layout of DESIGN.md. `padding="same"` gives OH = ceil(H / s), the odd
    pixel padded at the bottom/right (as in Keras). The activation is inner, as in Dense.

    im2col: forward copies the windows into cols (C*k*k, OH*OW*N), one strided slice per kernel
    offset, so that the layer is one matmul each way; backward scatters d cols back onto the pixels
    (col2im), adding where windows overlap. Inside, images are laid out batch-last (C, H, W, N), so
    every slice is made of long contiguous runs of N; the output is an (N, F, OH, OW) view of that
    memory, which the elementwise and pooling layers after it keep.
    """

    def __init__(
        self,
        filters: int,
        kernel_size: int,
        stride: int = 1,
        padding: int | str = 0,
        activation: str | None = None,
        init: str | None = None,
        init_scale: float = 0.05,
        use_bias: bool = True,
    ):
        super().__init__(activation, init, init_scale, use_bias)
        self.filters, self.kernel_size, self.stride = int(filters), int(kernel_size), int(stride)
        self.padding = padding

    def build(self, input_shape, rng, dtype):
        k = self.kernel_size
        self._pads, self._out_hw = window_geometry(input_shape, k, self.stride, self.padding, "conv2d")
        self._offsets = offsets(k, self.stride, self._out_hw)
        shape = (self.filters, input_shape[0], k, k)  # (F, C, k, k)
        self.params = {"W": initialize(self.init, shape, rng, dtype, self.init_scale)}
        if self.use_bias:
            self.params["b"] = np.zeros(self.filters, dtype=dtype)
        self.grads = {key: np.zeros_like(p) for key, p in self.params.items()}
        self._xp = None  # the padded input, reused while the batch shape stays the same
        return (self.filters, *self._out_hw)

    def _padded(self, x: np.ndarray) -> np.ndarray:
        """x as (C, H_pad, W_pad, N) with zero borders; the borders of the reused buffer are never written."""
        xt = x.transpose(1, 2, 3, 0)  # (C, H, W, N): a view
        if not any(self._pads):
            return xt
        top, bottom, left, right = self._pads
        c, h, w, n = xt.shape
        shape = (c, h + top + bottom, w + left + right, n)
        if self._xp is None or self._xp.shape != shape or self._xp.dtype != x.dtype:
            self._xp = np.zeros(shape, dtype=x.dtype)
        self._xp[:, top : top + h, left : left + w] = xt
        return self._xp

    def forward(self, x, training):
        xp = self._padded(x)  # (C, Hp, Wp, N)
        self._x_shape = x.shape
        k, (oh, ow), n = self.kernel_size, self._out_hw, x.shape[0]
        cols = np.empty((xp.shape[0], k, k, oh, ow, n), dtype=x.dtype)
        for p, q, rows, cs in self._offsets:
            cols[:, p, q] = xp[:, rows, cs]  # offset (p, q) of every window: (C, OH, OW, N)
        self._cols = cols = cols.reshape(-1, oh * ow * n)  # (C*k*k, OH*OW*N); dW needs it
        W2 = self.params["W"].reshape(self.filters, -1)  # (F, C*k*k)
        z = (W2 @ cols).reshape(self.filters, oh, ow, n)  # (F, C*k*k) @ (C*k*k, OH*OW*N)
        if self.use_bias:
            z += self.params["b"].reshape(-1, 1, 1, 1)  # in place: z is ours
        z = z.transpose(3, 0, 1, 2)  # (N, F, OH, OW): a view, batch-last in memory
        return z if self.act is None else self.act.forward(z, training)

    def backward(self, dy):
        dz = dy if self.act is None else self.act.backward(dy)  # (N, F, OH, OW)
        dz2 = dz.transpose(1, 2, 3, 0).reshape(self.filters, -1)  # (F, OH*OW*N); no copy when batch-last
        np.matmul(dz2, self._cols.T, out=self.grads["W"].reshape(self.filters, -1))  # (F, .) @ (., C*k*k)
        if self.use_bias:
            np.sum(dz2, axis=1, out=self.grads["b"])
        if not self.input_grad:
            return None  # a first layer: col2im is the costliest part of backward
        dcols = self.params["W"].reshape(self.filters, -1).T @ dz2  # (C*k*k, F) @ (F, OH*OW*N)
        return self._col2im(dcols)

    def _col2im(self, dcols: np.ndarray) -> np.ndarray:
        """Scatter d cols (C*k*k, OH*OW*N) back onto the padded pixels, then drop the padding: (N, C, H, W).

        A pixel inside several windows collects the gradient of each (a fan-out: the gradients add).
        """
        n, c, h, w = self._x_shape
        top, bottom, left, right = self._pads
        k, (oh, ow) = self.kernel_size, self._out_hw
        dcols = dcols.reshape(c, k, k, oh, ow, n)
        dxp = np.zeros((c, h + top + bottom, w + left + right, n), dtype=dcols.dtype)
        for p, q, rows, cs in self._offsets:
            dxp[:, rows, cs] += dcols[:, p, q]
        return dxp[:, top : top + h, left : left + w].transpose(3, 0, 1, 2)  # a view

    def explain(self) -> dict[str, list[str]]:
        s, k = self.stride, self.kernel_size
        bias = "b[f] + " if self.use_bias else ""
        linear = f"{{z}}[n,f,i,j] = {bias}Σ_c,p,q W[f,c,p,q]·x_pad[n,c,{s}·i+p,{s}·j+q]   (p, q < {k})"
        grads = [
            "dW = {dz}·colsᵀ   (as matmuls over the windows: (F, OH·OW·N)·(OH·OW·N, C·k²))",
            *(["db[f] = Σ_n,i,j {dz}[n,f,i,j]"] if self.use_bias else []),
            "dx = col2im(Wᵀ·{dz})   (a pixel inside several windows collects each one's gradient: they add)",
        ]
        text = self.chain_text(linear, grads)
        text["forward"].insert(0, "cols = im2col(x_pad)   (C·k², OH·OW·N): every window as a column")
        return text

    def flops(self, batch: int) -> tuple[int, int]:
        f, c, k, _ = self.params["W"].shape  # (F, C, k, k)
        outputs = batch * f * self._out_hw[0] * self._out_hw[1]  # N * F * OH * OW
        matmul, bias = 2 * outputs * c * k * k, outputs * self.use_bias  # a multiply-add counts 2
        col2im = batch * c * k * k * self._out_hw[0] * self._out_hw[1]  # one add per entry of d cols
        act_f, act_b = self.act_flops(batch, (f, *self._out_hw))
        return matmul + bias + act_f, act_b + matmul + bias + (matmul + col2im) * self.input_grad
