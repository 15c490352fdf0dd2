"""The embedding's backward, a scatter-add of dy into the rows of dW: a compiled loop (numba) beside np.add.at.

    dW[ids[n, t], :] += dy[n, :, t]   for every example n and step t, in that order

np.add.at is NumPy's unbuffered scatter: correct when an id repeats, but it goes through the generic
ufunc machinery for every element, ~2.7 ms a step for a char model's 2,048 ids of 64 features (3-4%
of the step). The kernel adds the same numbers in the same order (examples, then steps, then
features), so the same bits (tests/nn/test_embedding_kernel.py).
"""

from __future__ import annotations

import numpy as np

from backprop_cli.optim.fused import compiled, disabled


def scatter_add_rule(dW: np.ndarray, ids: np.ndarray, dy: np.ndarray) -> None:
    """dW[ids[n, t]] += dy[n, :, t]: ids (N, L) integers, dy (N, dim, L)."""
    np.add.at(dW, ids, dy.transpose(0, 2, 1))  # dW[(N, L)] += (N, L, dim)


def scatter_add(dW: np.ndarray, ids: np.ndarray, dy: np.ndarray) -> None:
    """The kernel when numba is there and the dtypes agree, else the rule."""
    kernel = None if disabled() or dy.dtype != dW.dtype else compiled("embedding", _build).get("scatter_add")
    (kernel or scatter_add_rule)(dW, ids, dy)


def _build(jit) -> dict:
    @jit
    def scatter_add(dW, ids, dy):  # pragma: no cover - runs compiled
        for n in range(ids.shape[0]):
            for t in range(ids.shape[1]):
                row = ids[n, t]
                for d in range(dy.shape[1]):
                    dW[row, d] += dy[n, d, t]

    return {"scatter_add": scatter_add}


def warm_up(dtype) -> None:
    """Compile (or load from the disk cache) the kernel for `dtype`, before a timed loop."""
    scatter_add(np.zeros((1, 1), dtype=dtype), np.zeros((1, 1), dtype=np.intp), np.zeros((1, 1, 1), dtype=dtype))
