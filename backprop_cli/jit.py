"""The one place that compiles kernels (numba), for the optimizers' fused updates (optim/fused.py), the
layers' kernels (nn/kernels/) and data augmentation's: on first use only, so `backprop --version` and
`--help` never load numba; cached on disk (`cache=True`, in __pycache__ or NUMBA_CACHE_DIR). Without numba,
or with `BACKPROP_NO_NUMBA=1`, every caller runs its NumPy rule instead.
"""

from __future__ import annotations

import os
import threading

_groups: dict[str, dict] = {}  # group -> {name: compiled function}; {} when numba is unavailable
_lock = threading.Lock()  # threads ask at once on the first step: compile once


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
