"""Penalties and gradient clipping, in place, over one flat array (or a list of arrays) in its own dtype.

Each function takes either a single array (the model's flat gradient buffer, or its `flat_weights`
prefix) or a list of arrays; float32 stays float32 (scalars are cast to the array's dtype).

L2 convention (PyTorch's `weight_decay`, scikit-learn's `alpha`): the penalty is 0.5 * l2 * ||w||^2,
so its gradient is l2 * w. (Keras' `L2(l2)` is l2 * ||w||^2 with gradient 2 * l2 * w: Keras' l2 = 0.01
is our l2 = 0.02.) L1: the penalty is l1 * sum |w|, its (sub)gradient l1 * sign(w), 0 at w = 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

Arrays = np.ndarray | Sequence[np.ndarray]


def add_penalties(
    weights: Arrays, weight_grads: Arrays, l1: float, l2: float, *, scratch: np.ndarray | None = None
) -> float:
    """grad += l1 sign(w) + l2 w, in place; returns the penalty l1 sum|w| + 0.5 l2 ||w||^2 for the loss.

    `scratch`: an optional 1-D work buffer of the weights' dtype with at least as many elements as the
    largest weight array; pass one to avoid allocating a temporary on every call.
    """
    if not (l1 or l2):
        return 0.0
    penalty = 0.0
    for w, g in zip(_arrays(weights), _arrays(weight_grads), strict=True):
        tmp = _work_buffer(w, scratch)
        flat_w = w.reshape(-1)
        if l1:
            np.sign(w, out=tmp)
            penalty += l1 * float(np.dot(tmp.reshape(-1), flat_w))  # sign(w) . w = sum |w|
            tmp *= w.dtype.type(l1)
            g += tmp
        if l2:
            penalty += 0.5 * l2 * float(np.dot(flat_w, flat_w))
            np.multiply(w, w.dtype.type(l2), out=tmp)
            g += tmp
    return penalty


def global_norm(grads: Arrays) -> float:
    """sqrt(sum of g^2 over every array): one dot product per array, accumulated in the arrays' dtype.

    float32 overflows to inf once some |g| exceeds ~1e19; the NaN guard then reports the divergence.
    """
    total = 0.0
    for g in _arrays(grads):
        flat = g.reshape(-1)
        total += float(np.dot(flat, flat))
    return math.sqrt(total)


def clip_by_global_norm(grads: Arrays, max_norm: float) -> float:
    """Scale every gradient by max_norm / norm when the global norm exceeds max_norm; returns the norm before.

    A non-finite norm (NaN or inf) leaves the gradients as they are, for the NaN guard to report.
    """
    norm = global_norm(grads)
    if math.isfinite(norm) and norm > max_norm:
        for g in _arrays(grads):
            g *= g.dtype.type(max_norm / norm)
    return norm


def clip_by_value(grads: Arrays, limit: float) -> None:
    """Clamp every gradient entry to [-limit, limit], in place (NaN stays NaN)."""
    for g in _arrays(grads):
        lim = g.dtype.type(limit)
        np.clip(g, -lim, lim, out=g)


def _arrays(x: Arrays) -> list[np.ndarray]:
    return [x] if isinstance(x, np.ndarray) else list(x)


def _work_buffer(like: np.ndarray, scratch: np.ndarray | None) -> np.ndarray:
    """A buffer shaped like `like`: a view of the caller's flat scratch if it is big enough, else a new one."""
    if scratch is not None and scratch.dtype == like.dtype and scratch.size >= like.size:
        return scratch.reshape(-1)[: like.size].reshape(like.shape)
    return np.empty_like(like)
