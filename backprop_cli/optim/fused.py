"""Optional fused update kernels: one pass over the flat buffers instead of NumPy's ten or more.

NumPy's Adam makes 12 passes over every parameter (each ufunc reads and writes whole arrays) and
momentum SGD 4; a loop compiled by numba makes one: Adam runs 3-4x faster on a 535k-parameter MLP
(bench/README.md).
numba is an optional extra (`pip install 'backprop-cli[fast]'`); without it, or for small arrays
(where compiling would cost more than it saves), the NumPy rules in adam.py run instead.

The kernels do the NumPy rule's float operations in the same order and precision, with no fused
multiply-add (numba's default: no fast-math), so both paths give the same bits: a run does not
change when numba is installed or removed (tests/optim/test_fused.py holds them equal).
`BACKPROP_NO_NUMBA=1` turns the kernels off (for before/after measurements).
"""

from __future__ import annotations

import os
import threading

import numpy as np

MIN_SIZE = 1 << 17  # elements: below this, the one-off compile (~0.5 s, cached) does not pay
_kernels: dict | None = None  # name -> compiled function, once numba is imported; {} when unavailable
_lock = threading.Lock()  # the optimizer's threads ask at once on the first step: compile once


def _compile() -> dict:
    try:
        from numba import njit
    except ImportError:
        return {}
    # error_model="numpy": no ZeroDivisionError check, so the loop vectorizes (vsqrtps, vdivps)
    jit = njit(nogil=True, cache=True, error_model="numpy")

    @jit
    def adam(p, g, m, v, b1, c1, b2, c2, eps, step):  # pragma: no cover - runs compiled
        for i in range(p.shape[0]):
            gi = g[i]
            mi = m[i] * b1 + gi * c1  # m <- b1 m + (1 - b1) g
            vi = v[i] * b2 + (gi * gi) * c2  # v <- b2 v + (1 - b2) g^2
            m[i] = mi
            v[i] = vi
            p[i] = p[i] - (mi / (np.sqrt(vi) + eps)) * step

    @jit
    def momentum(p, g, v, mu, lr):  # pragma: no cover - runs compiled
        for i in range(p.shape[0]):
            vi = v[i] * mu + g[i]  # v <- mu v + g
            v[i] = vi
            p[i] = p[i] - vi * lr  # p <- p - lr v

    @jit
    def nesterov(p, g, v, mu, lr):  # pragma: no cover - runs compiled
        for i in range(p.shape[0]):
            gi = g[i]
            vi = v[i] * mu + gi  # v <- mu v + g
            v[i] = vi
            p[i] = p[i] - (vi * mu + gi) * lr  # p <- p - lr (g + mu v)

    return {"adam": adam, "momentum": momentum, "nesterov": nesterov}


def kernel(name: str, *arrays: np.ndarray):
    """The compiled kernel `name` if it should run on these arrays (1-D, contiguous, one float dtype,
    large enough, numba installed, not turned off), else None: the caller runs its NumPy rule."""
    global _kernels
    first = arrays[0]
    if first.size < MIN_SIZE or first.dtype.kind != "f" or os.environ.get("BACKPROP_NO_NUMBA"):
        return None
    if not all(a.ndim == 1 and a.flags.c_contiguous and a.dtype == first.dtype for a in arrays):
        return None
    with _lock:
        if _kernels is None:
            _kernels = _compile()
    return _kernels.get(name)
