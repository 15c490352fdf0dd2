"""Max pooling over window offsets, shared by the 2-D and 1-D forms: each offset of every window is one view."""

from __future__ import annotations

import numpy as np


def max_over_views(views: list[np.ndarray], training: bool) -> tuple[np.ndarray, list[np.ndarray] | None]:
    """(y, masks): y the elementwise maximum of the views (each offset of every window, e.g. (N, C, OH, OW)),
    in the first view's memory layout; in training, one boolean mask per view, True where that offset holds
    its window's maximum. Ties: only the first maximum in view order takes the gradient (a subgradient)."""
    y = views[0].copy(order="K")
    for v in views[1:]:
        np.maximum(y, v, out=y)
    if not training:
        return y, None
    free = np.ones_like(y, dtype=bool)  # windows whose maximum is not yet claimed
    masks = []
    for v in views:
        hit = v == y
        hit &= free
        free ^= hit
        masks.append(hit)
    return y, masks
