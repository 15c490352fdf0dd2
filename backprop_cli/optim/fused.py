"""Fused update kernels: one pass over the flat buffers instead of NumPy's ten or more; and the one
place that compiles kernels (numba), for these and for nn/conv_kernels.py.

NumPy's Adam makes 12 passes over every parameter (each ufunc reads and writes whole arrays) and
momentum SGD 4; a loop compiled by numba makes one: Adam runs 3-4x faster on a 535k-parameter MLP
(bench/README.md).
numba is a core dependency; when it cannot be imported, or for small arrays (where compiling would
cost more than it saves), the NumPy rules in adam.py run instead. numba is imported on the first
kernel use only, so `backprop --version` and `--help` never load it. Compiled code is cached on disk
(`cache=True`, in __pycache__ or NUMBA_CACHE_DIR): a later process loads it instead of compiling.

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
_groups: dict[str, dict] = {}  # group -> {name: compiled function}; {} when numba is unavailable
_lock = threading.Lock()  # the optimizer's threads ask at once on the first step: compile once


def disabled() -> bool:
    """`BACKPROP_NO_NUMBA=1`: the NumPy rules everywhere (the fallback, and before/after measurements)."""
    return bool(os.environ.get("BACKPROP_NO_NUMBA"))


def compiled(group: str, build) -> dict:
    """The kernels of `group`, {name: function}, from build(jit) on first use; {} without numba.

    numba compiles each function lazily, on its first call with new argument types (or loads it
    from the disk cache); warm the kernels before a timed loop by calling them once on tiny arrays.
    """
    kernels = _groups.get(group)
    if kernels is None:
        with _lock:
            kernels = _groups.get(group)
            if kernels is None:
                try:
                    from numba import njit
                except ImportError:
                    kernels = {}
                else:
                    # error_model="numpy": no ZeroDivisionError check, so loops vectorize (vsqrtps, vdivps)
                    kernels = build(njit(nogil=True, cache=True, error_model="numpy"))
                _groups[group] = kernels
    return kernels


def _optimizer_kernels(jit) -> dict:

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

    @jit
    def ema(shadow, p, c):  # pragma: no cover - runs compiled
        for i in range(p.shape[0]):
            shadow[i] = shadow[i] + (p[i] - shadow[i]) * c  # shadow <- shadow + (1 - decay) (p - shadow)

    return {"adam": adam, "momentum": momentum, "nesterov": nesterov, "ema": ema}


def kernel(name: str, *arrays: np.ndarray):
    """The compiled kernel `name` if it should run on these arrays (1-D, contiguous, one float dtype,
    large enough, numba installed, not turned off), else None: the caller runs its NumPy rule."""
    first = arrays[0]
    if first.size < MIN_SIZE or first.dtype.kind != "f" or disabled():
        return None
    if not all(a.ndim == 1 and a.flags.c_contiguous and a.dtype == first.dtype for a in arrays):
        return None
    return compiled("optim", _optimizer_kernels).get(name)


KERNEL_ARGS = {"adam": (4, 6), "momentum": (3, 2), "nesterov": (3, 2), "ema": (2, 1)}  # (arrays, scalars)


def warm_up(optimizer, params: np.ndarray) -> None:
    """Compile (or load) the kernel of the optimizer (or anything naming its `fused_kernel`: the weight
    average) for the flat `params`, on tiny arrays, if it will run on them."""
    name = getattr(optimizer, "fused_kernel", None)
    found = None if name is None else kernel(name, params)
    if found is None:
        return
    n_arrays, n_scalars = KERNEL_ARGS[name]
    arrays = [np.zeros(2, dtype=params.dtype) for _ in range(n_arrays)]
    found(*arrays, *[params.dtype.type(0.5)] * n_scalars)
