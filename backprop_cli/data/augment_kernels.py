"""The compiled loop (numba) of the bilinear rotation, beside augment.py's NumPy rule it replaces.

The rule computes every pixel's source point as (N, H, W) arrays and gathers four corners for every channel
through fancy indexing, four (N, H, W, C) temporaries; the kernel does one pixel at a time, in place. Same
arithmetic in the same order and dtype (the source point in float64, the weights cast to x's dtype), so the
same bits:
tests/data/test_augment.py holds them equal in float32 and float64. `BACKPROP_NO_NUMBA=1` or a missing
numba runs the rule.
"""

from __future__ import annotations

import numpy as np

from backprop_cli.optim.fused import compiled, disabled


def kernels() -> dict:
    """{name: compiled function}, or {} when the NumPy rule must run (numba missing or turned off)."""
    return {} if disabled() else compiled("augment", _build)


def _build(jit) -> dict:
    @jit
    def rotate(x, cos, sin, fill, one, weights, out):  # pragma: no cover - runs compiled
        """out[n, c] = x[n, c] turned by the angle whose cos and sin are given (N,), bilinear, fill[c] outside.
        `weights`: two scratch numbers of x's dtype, through which the weights are cast, as the rule's astype."""
        n, channels, h, w = x.shape
        cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
        for e in range(n):
            for i in range(h):
                for j in range(w):
                    ys, xs = i - cy, j - cx
                    src_y = cos[e] * ys + sin[e] * xs + cy  # float64, as the rule
                    src_x = cos[e] * xs - sin[e] * ys + cx
                    top, left = int(np.floor(src_y)), int(np.floor(src_x))
                    weights[0], weights[1] = src_y - top, src_x - left  # cast to x's dtype
                    fy, fx = weights[0], weights[1]
                    gy, gx = one - fy, one - fx
                    up_in, down_in = 0 <= top < h, 0 <= top + 1 < h
                    left_in, right_in = 0 <= left < w, 0 <= left + 1 < w
                    for c in range(channels):
                        c00 = x[e, c, top, left] if up_in and left_in else fill[c]
                        c01 = x[e, c, top, left + 1] if up_in and right_in else fill[c]
                        c10 = x[e, c, top + 1, left] if down_in and left_in else fill[c]
                        c11 = x[e, c, top + 1, left + 1] if down_in and right_in else fill[c]
                        upper = c00 * gx + c01 * fx
                        lower = c10 * gx + c11 * fx
                        out[e, c, i, j] = upper * gy + lower * fy

    return {"rotate": rotate}
