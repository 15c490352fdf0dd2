"""The 2-D convolution layer (cross-correlation, as in every deep-learning library), via blocked im2col."""

from __future__ import annotations

import numpy as np

from backprop_cli.nn.conv.windows import offsets, window_geometry
from backprop_cli.nn.core.activations import ReLU
from backprop_cli.nn.core.weighted import WeightLayer
from backprop_cli.nn.initializers import initialize
from backprop_cli.nn.kernels import conv as conv_kernels

BLOCK_BYTES = 4 << 20  # cols of one block of output rows: a few MB, so GEMM reads what im2col just wrote from cache


class Conv2D(WeightLayer):
    """y[n, f, i, j] = act(b[f] + sum_{c, p, q} W[f, c, p, q] * x_pad[n, c, s*i + p, s*j + q]).

    x: (N, C, H, W) -> y: (N, F, OH, OW), OH = (H + pad_top + pad_bottom - k) // s + 1; W: (F, C, k, k),
    b: (F,), the checkpoint layout. `padding="same"` gives OH = ceil(H / s), the odd
    pixel padded at the bottom/right (as in Keras). The activation is inner, as in Dense.

    im2col, one block of output rows at a time: the windows of rows i0..i1 are copied into a reused
    workspace cols (C*k*k, R*OW*N) of about BLOCK_BYTES, and one matmul per block writes those rows of
    the output; cols never exists whole (80 MB per batch of 128 in a LeNet's second conv, 640 MB at
    the evaluation batch). Backward rebuilds each block's cols (a copy from cache is cheaper than
    keeping 80 MB in memory), adds its share of dW, then overwrites the workspace with d cols and
    scatters it back onto the pixels (col2im), adding where windows overlap. Inside, images are laid
    out batch-last (C, H, W, N), so every copy is made of long contiguous runs of N; the output is an
    (N, F, OH, OW) view of that memory, which the elementwise and pooling layers after it keep.
    The copies are numba kernels when numba is there (nn/conv_kernels.py), else their NumPy rules.
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
        self._xp = None  # the padded input of the NumPy rules, reused while the batch shape stays the same
        self._ws = np.zeros(0, dtype=dtype)  # the cols workspace, grown to the largest block seen
        return (self.filters, *self._out_hw)

    def warm_up(self) -> None:
        """Compile (or load) the kernels before a timed loop starts."""
        conv_kernels.warm_up(self.params["W"].dtype)

    # ---- the pieces ------------------------------------------------------------------------------
    def _source(self, x: np.ndarray, kern: dict) -> tuple[np.ndarray, int, int]:
        """(image (C, H', W', N), top, left) that im2col reads: the unpadded image for the kernels, which skip
        the padding by bounds checks; a zero-bordered copy for the NumPy rule (its borders never written)."""
        xt = x.transpose(1, 2, 3, 0)  # (C, H, W, N): a view, contiguous when x came from a batch-last layer
        top, bottom, left, right = self._pads
        if kern:
            return np.ascontiguousarray(xt), top, left
        if not any(self._pads):
            return xt, 0, 0
        c, h, w, n = xt.shape
        shape = (c, h + top + bottom, w + left + right, n)
        if self._xp is None or self._xp.shape != shape or self._xp.dtype != x.dtype:
            self._xp = np.zeros(shape, dtype=x.dtype)
        self._xp[:, top : top + h, left : left + w] = xt
        return self._xp, 0, 0

    def _blocks(self, n: int, itemsize: int) -> list[tuple[int, int]]:
        """(i0, i1): output rows per block, so that a block's cols stays near BLOCK_BYTES (at least one row)."""
        oh, ow = self._out_hw
        row_bytes = self.params["W"][0].size * ow * n * itemsize
        rows = max(1, min(oh, BLOCK_BYTES // row_bytes))
        return [(i0, min(i0 + rows, oh)) for i0 in range(0, oh, rows)]

    def _im2col(self, kern: dict, source, i0: int, i1: int, n: int) -> np.ndarray:
        """The windows of output rows i0..i1 as cols (C*k*k, R*OW*N), in the reused workspace."""
        src, top, left = source
        k, ow = self.kernel_size, self._out_hw[1]
        shape = (src.shape[0], k, k, i1 - i0, ow, n)
        size = int(np.prod(shape))
        if self._ws.size < size or self._ws.dtype != src.dtype:
            self._ws = np.empty(size, dtype=src.dtype)
        cols = self._ws[:size].reshape(shape)
        (kern.get("im2col") or conv_kernels.im2col_rule)(src, cols, k, self.stride, top, left, i0)
        return cols.reshape(shape[0] * k * k, -1)

    # ---- forward and backward --------------------------------------------------------------------
    def forward(self, x, training):
        kern = conv_kernels.kernels()
        source = self._source(x, kern)
        n, (oh, ow), f = x.shape[0], self._out_hw, self.filters
        W2 = self.params["W"].reshape(f, -1)  # (F, C*k*k)
        z = np.empty((f, oh * ow * n), dtype=x.dtype)  # (F, OH*OW*N): batch-last
        for i0, i1 in self._blocks(n, x.dtype.itemsize):
            cols = self._im2col(kern, source, i0, i1, n)
            np.matmul(W2, cols, out=z[:, i0 * ow * n : i1 * ow * n])  # (F, C*k*k) @ (C*k*k, R*OW*N)
        fused_relu = bool(kern) and isinstance(self.act, ReLU)
        if training:  # what backward needs; an evaluation pass in between leaves it alone
            self._source_kept, self._x_shape, self._kern, self._fused_relu = source, x.shape, kern, fused_relu
        if fused_relu:  # z + b and relu in one pass; backward reads relu's mask off the output
            kern["bias_relu"](z, self.params["b"] if self.use_bias else np.zeros(f, dtype=z.dtype))
            y = z.reshape(f, oh, ow, n).transpose(3, 0, 1, 2)
            if training:
                self._y = y
            return y
        if self.use_bias:
            z += self.params["b"][:, None]  # in place: z is ours
        z = z.reshape(f, oh, ow, n).transpose(3, 0, 1, 2)  # (N, F, OH, OW): a view, batch-last in memory
        return z if self.act is None else self.act.forward(z, training)

    def _dz(self, dy: np.ndarray) -> np.ndarray:
        """dL/dz, the gradient before the activation, as (F, OH*OW*N) batch-last."""
        if self._fused_relu:  # relu's mask read off its output (y > 0 exactly where z > 0); then relu's own backward
            self.act._mask = self._y > 0
        dz = dy if self.act is None else self.act.backward(dy)  # (N, F, OH, OW)
        return np.ascontiguousarray(dz.transpose(1, 2, 3, 0)).reshape(self.filters, -1)  # no copy when batch-last

    def backward(self, dy):
        kern = self._kern  # the path forward took: its source is padded for the NumPy rule only
        dz = self._dz(dy)  # (F, OH*OW*N)
        if self.use_bias:
            np.sum(dz, axis=1, out=self.grads["b"])
        n, c, h, w = self._x_shape
        ow, source = self._out_hw[1], self._source_kept
        W2, dW2 = self.params["W"].reshape(self.filters, -1), self.grads["W"].reshape(self.filters, -1)
        dx = None
        if self.input_grad:  # a first layer skips it: col2im is the costliest part of backward
            dx = np.zeros((*source[0].shape[:3], n), dtype=dz.dtype)  # (C, H', W', N), padded for the NumPy rule
        blocks = self._blocks(n, dz.dtype.itemsize)
        for b, (i0, i1) in enumerate(blocks):
            cols = self._im2col(kern, source, i0, i1, n)  # rebuilt from the input: (C*k*k, R*OW*N)
            dz_rows = dz[:, i0 * ow * n : i1 * ow * n]
            if b == 0:
                np.matmul(dz_rows, cols.T, out=dW2)  # (F, R*OW*N) @ (R*OW*N, C*k*k)
            else:
                dW2 += dz_rows @ cols.T
            if dx is not None:
                np.matmul(W2.T, dz_rows, out=cols)  # d cols, over cols: dW has read it
                k, s = self.kernel_size, self.stride
                d6 = cols.reshape(c, k, k, i1 - i0, ow, n)
                (kern.get("col2im") or conv_kernels.col2im_rule)(d6, dx, k, s, source[1], source[2], i0)
        if dx is None:
            return None
        if not kern:  # the NumPy rule scattered onto the padded image: drop the border
            top, _, left, _ = self._pads
            dx = dx[:, top : top + h, left : left + w]
        return dx.transpose(3, 0, 1, 2)  # (N, C, H, W): a view

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
