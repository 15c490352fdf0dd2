"""Mini-batches by index into preallocated contiguous buffers: no allocation per batch."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from backprop_cli.data.rowfile import LazyRows


class BatchLoader:
    """Yields (xb, yb) views of two reused buffers, filled with np.take(..., out=) from an epoch's order.

    A yielded batch is valid until the next one is drawn: copy it to keep it. The last batch may be
    shorter (a shorter view of the same buffers). Resume regenerates the epoch's permutation from
    the saved generator state and calls batches(order, start=k) to skip the k batches already done.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, w: np.ndarray | None = None):
        if len(x) != len(y) or (w is not None and len(w) != len(y)):
            raise ValueError(f"x has {len(x)} rows but y has {len(y)}" + (f" and w {len(w)}" if w is not None else ""))
        if len(x) == 0 or batch_size < 1:
            raise ValueError("a BatchLoader needs at least one row and a batch size of at least 1")
        self.x, self.y, self.w = x, y, w
        self.n = len(x)
        self.batch_size = min(batch_size, self.n)
        self._xb = np.empty((self.batch_size, *x.shape[1:]), dtype=x.dtype)  # (B, *input_shape)
        self._yb = np.empty((self.batch_size, *y.shape[1:]), dtype=y.dtype)
        self._wb = None if w is None else np.empty(self.batch_size, dtype=w.dtype)
        self.batch_weights: np.ndarray | None = None  # the row weights of the batch last yielded (weighted data)

    def __len__(self) -> int:
        return math.ceil(self.n / self.batch_size)

    def permutation(self, rng: np.random.Generator) -> np.ndarray:
        """One epoch's order of the rows, drawn from the shuffle generator."""
        return rng.permutation(self.n)

    def batches(self, order: np.ndarray, start: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Batches start, start+1, ... of the epoch whose row order is `order`."""
        b = self.batch_size
        for k in range(start, len(self)):
            idx = order[k * b : (k + 1) * b]
            m = len(idx)
            if isinstance(self.x, LazyRows):  # a file bigger than memory: these rows are read now
                self.x.take_into(idx, self._xb[:m])
            else:  # mode="clip": the indices come from a permutation, and "raise" would buffer (allocate)
                np.take(self.x, idx, axis=0, out=self._xb[:m], mode="clip")
            np.take(self.y, idx, axis=0, out=self._yb[:m], mode="clip")
            if self.w is not None:
                self.batch_weights = np.take(self.w, idx, out=self._wb[:m], mode="clip")
            yield self._xb[:m], self._yb[:m]
