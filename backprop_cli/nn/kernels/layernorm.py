"""Layer normalization, forward and backward: compiled loops (numba) beside the layer's NumPy rule.

The statistics run over the features C of each example, at each step: x (N, C, L), or (N, C) taken as
(N, C, 1). The rule in nn/normalization/layernorm.py makes six passes forward and nine backward over
the whole array, through NumPy's reductions; a kernel takes one example's (C, L) block at a time
(16 KB in a char transformer: it stays in L1) with the steps innermost, where (N, C, L) C-ordered
memory, the residual stream's, is contiguous. The examples split over the cores (kernels/threads.py);
dgamma and dbeta stay with NumPy, summed as the rule sums them.

Not the same bits as the rule: a kernel sums the C features in order where NumPy sums pairwise. The
values agree to a few units in the last place (tests/nn/test_layernorm_kernels.py, float32 and
float64), and each path gives the same bits run to run.
"""

from __future__ import annotations

import numpy as np

from backprop_cli.nn.kernels.threads import split_rows
from backprop_cli.optim.fused import compiled, disabled


def as_3d(a: np.ndarray) -> np.ndarray:
    """(N, C, L) C-ordered, copied if it is not (a transformer's dy arrives as (N, L, C) memory, which the
    loops below would read across); (N, C) as the view (N, C, 1). One memory layout: numba compiles each
    kernel once a dtype, not once per layout as well."""
    return np.ascontiguousarray(a if a.ndim == 3 else a[:, :, None])


def kernels() -> dict:
    """{name: compiled kernel split over the rows}, or {} (numba missing or turned off)."""
    if disabled():
        return {}
    found = compiled("layernorm", _build)
    if not found:
        return {}
    return {  # gamma and beta go whole to every block of rows
        "layernorm": split_rows(found["layernorm"], whole=(1, 2)),
        "layernorm_backward": split_rows(found["layernorm_backward"], whole=(2,)),
    }


def _build(jit) -> dict:
    @jit
    def layernorm(x, gamma, beta, eps, y, xhat, inv_std):  # pragma: no cover - runs compiled
        n_, c_, l_ = x.shape
        mean = np.empty(l_, dtype=x.dtype)
        for n in range(n_):
            for t in range(l_):
                mean[t] = 0
                inv_std[n, t] = 0
            for c in range(c_):  # the steps innermost: contiguous in (N, C, L) memory
                for t in range(l_):
                    mean[t] += x[n, c, t]
            for t in range(l_):
                mean[t] /= c_
            for c in range(c_):
                for t in range(l_):
                    d = x[n, c, t] - mean[t]
                    inv_std[n, t] += d * d  # the sum of squares, for now
            for t in range(l_):
                inv_std[n, t] = 1 / np.sqrt(inv_std[n, t] / c_ + eps)
            for c in range(c_):
                for t in range(l_):
                    h = (x[n, c, t] - mean[t]) * inv_std[n, t]
                    xhat[n, c, t] = h
                    y[n, c, t] = h * gamma[c] + beta[c]

    @jit
    def layernorm_backward(dy, xhat, gamma, inv_std, dx):  # pragma: no cover - runs compiled
        n_, c_, l_ = dy.shape
        md, mdx = np.empty(l_, dtype=dy.dtype), np.empty(l_, dtype=dy.dtype)
        for n in range(n_):
            for t in range(l_):
                md[t] = 0
                mdx[t] = 0
            for c in range(c_):
                for t in range(l_):
                    g = dy[n, c, t] * gamma[c]  # dx̂
                    md[t] += g
                    mdx[t] += g * xhat[n, c, t]
            for t in range(l_):
                md[t] /= c_
                mdx[t] /= c_
            for c in range(c_):
                for t in range(l_):
                    dx[n, c, t] = inv_std[n, t] * (dy[n, c, t] * gamma[c] - md[t] - xhat[n, c, t] * mdx[t])

    return {"layernorm": layernorm, "layernorm_backward": layernorm_backward}


def warm_up(dtype) -> None:
    """Compile (or load from the disk cache) both kernels for `dtype` on a tiny array."""
    found = kernels()
    if not found:
        return
    x, gamma = np.ones((1, 2, 3), dtype=dtype), np.ones(2, dtype=dtype)
    y, xhat, inv = np.empty_like(x), np.empty_like(x), np.empty((1, 3), dtype=dtype)
    found["layernorm"](x, gamma, gamma, np.dtype(dtype).type(1e-5), y, xhat, inv)
    found["layernorm_backward"](x, xhat, gamma, inv, y)
