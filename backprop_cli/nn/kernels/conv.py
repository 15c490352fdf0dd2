"""Compiled loops (numba) for conv2d and max pooling, each beside the NumPy rule it replaces.

Every array here is an image batch laid out batch-last, (C, H, W, N) C-contiguous: the layout conv2d
computes in, so that the innermost loop runs over N contiguous values and vectorizes. The NumPy
rules are the readable reference and the fallback (numba missing, or `BACKPROP_NO_NUMBA=1`);
tests/nn/test_conv_kernels.py holds each kernel equal to its rule in float32 and float64:

- im2col / col2im: the same copies and the same additions in the same order, so the same bits. The
  kernels read and write the unpadded image and skip the padding by bounds checks; the NumPy rules
  work on a padded copy (pass top = left = 0 and the padded image).
- max pooling: the same maximum, and the same subgradient (the first maximum of a window in row-major
  order takes the whole dy); the kernel records that argmax once, in forward, as an int32 per window
  (a byte would do, but a loop storing bytes beside float32 does not vectorize: 16 against 4 ms for
  the LeNet's first pool at batch 128, on this project's AVX2 host).
- bias + relu: z + b then max(., 0) in one pass; relu's backward (ReLU.backward) takes its mask y > 0
  from that output.

Every kernel computes each channel (the leading axis of all its arrays) on its own, so kernels() hands
them out split over the cores by channel (kernels/threads.py): the same bits at any thread count.
"""

from __future__ import annotations

import numpy as np

from backprop_cli.nn.kernels.threads import split_rows
from backprop_cli.optim.fused import compiled, disabled

_split: dict = {}  # name -> the compiled kernel over the channels on the kernel threads (kernels/threads.py)


def kernels() -> dict:
    """{name: compiled function}, or {} when the NumPy rules must run (numba missing or turned off). Each
    splits its channels over the threads BLAS uses: the same bits as one call (every channel is its own)."""
    if disabled():
        return {}
    if not _split:
        _split.update({name: split_rows(fn) for name, fn in compiled("conv", _build).items()})
    return _split


# ---- the NumPy rules -----------------------------------------------------------------------------


def im2col_rule(xp, cols, k, s, top, left, i0):
    """cols[c, p, q, r, j, n] = xp[c, s*(i0 + r) + p, s*j + q, n]: output rows i0.. of each window offset.

    xp: the padded image (C, Hp, Wp, N) (top = left = 0 here); cols: (C, k, k, R, OW, N).
    """
    assert top == left == 0, "the NumPy rule reads a padded image"
    r, ow = cols.shape[3], cols.shape[4]
    for p in range(k):
        for q in range(k):
            h, w = s * i0 + p, q
            cols[:, p, q] = xp[:, h : h + s * (r - 1) + 1 : s, w : w + s * (ow - 1) + 1 : s]


def col2im_rule(dcols, dxp, k, s, top, left, i0):
    """The adjoint of im2col: dxp[c, s*(i0 + r) + p, s*j + q, n] += dcols[c, p, q, r, j, n], offsets in
    row-major order (a pixel inside several windows collects each one's gradient). dxp: padded."""
    assert top == left == 0, "the NumPy rule writes a padded image"
    r, ow = dcols.shape[3], dcols.shape[4]
    for p in range(k):
        for q in range(k):
            h, w = s * i0 + p, q
            dxp[:, h : h + s * (r - 1) + 1 : s, w : w + s * (ow - 1) + 1 : s] += dcols[:, p, q]


# ---- the kernels ---------------------------------------------------------------------------------


def _build(jit) -> dict:
    @jit
    def im2col(x, cols, k, s, top, left, i0):  # pragma: no cover - runs compiled
        c_, h_, w_, n_ = x.shape
        rows, ow = cols.shape[3], cols.shape[4]
        for c in range(c_):
            for p in range(k):
                for q in range(k):
                    for r in range(rows):
                        h = s * (i0 + r) + p - top
                        for j in range(ow):
                            w = s * j + q - left
                            if 0 <= h < h_ and 0 <= w < w_:
                                for n in range(n_):
                                    cols[c, p, q, r, j, n] = x[c, h, w, n]
                            else:  # the zero padding
                                for n in range(n_):
                                    cols[c, p, q, r, j, n] = 0

    @jit
    def col2im(dcols, dx, k, s, top, left, i0):  # pragma: no cover - runs compiled
        c_, h_, w_, n_ = dx.shape
        rows, ow = dcols.shape[3], dcols.shape[4]
        for c in range(c_):
            for p in range(k):
                for q in range(k):
                    for r in range(rows):
                        h = s * (i0 + r) + p - top
                        if h < 0 or h >= h_:
                            continue  # a padding row: its gradient is dropped
                        for j in range(ow):
                            w = s * j + q - left
                            if 0 <= w < w_:
                                for n in range(n_):
                                    dx[c, h, w, n] += dcols[c, p, q, r, j, n]

    @jit
    def maxpool(x, y, arg, k, s):  # pragma: no cover - runs compiled
        c_, oh, ow, n_ = y.shape
        for c in range(c_):
            for i in range(oh):
                for j in range(ow):
                    for n in range(n_):
                        y[c, i, j, n] = x[c, s * i, s * j, n]
                        arg[c, i, j, n] = 0
                    for p in range(k):
                        for q in range(k):
                            if p == 0 and q == 0:
                                continue
                            at = p * k + q
                            for n in range(n_):  # branch-free, so that it vectorizes: a branch on data mispredicts
                                v, best = x[c, s * i + p, s * j + q, n], y[c, i, j, n]
                                take = (v > best) | ((v != v) & (best == best))  # a NaN wins, as in np.maximum
                                y[c, i, j, n] = v if take else best
                                arg[c, i, j, n] = at if take else arg[c, i, j, n]

    @jit
    def maxpool_backward(dy, arg, dx, k, s):  # pragma: no cover - runs compiled
        c_, oh, ow, n_ = dy.shape
        tiled = s == k and dx.shape[1] == oh * k and dx.shape[2] == ow * k  # each pixel in exactly one window
        if not tiled:
            dx[...] = 0
        for c in range(c_):
            for p in range(k):  # offsets outermost: a pixel of overlapping windows adds in the rule's order
                for q in range(k):
                    at = p * k + q
                    for i in range(oh):
                        for j in range(ow):
                            for n in range(n_):
                                g = dy[c, i, j, n] * (arg[c, i, j, n] == at)  # dy * mask, as the rule
                                if tiled:
                                    dx[c, s * i + p, s * j + q, n] = 0.0 + g  # the rule's 0 + dy * mask
                                else:
                                    dx[c, s * i + p, s * j + q, n] += g

    @jit
    def bias_relu(z, b):  # pragma: no cover - runs compiled
        for f in range(z.shape[0]):
            bf = b[f]
            for m in range(z.shape[1]):
                v = z[f, m] + bf
                z[f, m] = v if v >= 0 or v != v else 0  # np.maximum(v, 0): NaN stays

    return {
        "im2col": im2col,
        "col2im": col2im,
        "maxpool": maxpool,
        "maxpool_backward": maxpool_backward,
        "bias_relu": bias_relu,
    }


def warm_up(dtype) -> float:
    """Compile (or load from the disk cache) every kernel for `dtype` on tiny arrays; returns the seconds
    spent, so the first training step does not pay for it."""
    import time

    started = time.perf_counter()
    found = kernels()
    if not found:
        return 0.0
    x = np.ones((1, 2, 2, 1), dtype=dtype)
    cols = np.empty((1, 1, 1, 2, 2, 1), dtype=dtype)
    found["im2col"](x, cols, 1, 1, 0, 0, 0)
    found["col2im"](cols, x, 1, 1, 0, 0, 0)
    y, arg = np.empty((1, 1, 1, 1), dtype=dtype), np.empty((1, 1, 1, 1), dtype=np.int32)
    found["maxpool"](x, y, arg, 2, 2)
    found["maxpool_backward"](y, arg, x, 2, 2)
    z = np.ones((1, 2), dtype=dtype)
    found["bias_relu"](z, z[0, :1])
    return time.perf_counter() - started
