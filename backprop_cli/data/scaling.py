"""Feature and target scaling, fitted on the training split only and saved with the model.

A Scaler maps values in the file's units to model inputs:  x_model = (x_raw - offset) / scale,
per feature for tabular data (offset: (F,)) and per channel for images (offset: (C, 1, 1)).
"""

from __future__ import annotations

import math

import numpy as np

from backprop_cli.errors import CheckpointError

KINDS = ("standard", "minmax", "none")
_CHUNK_ELEMENTS = 1 << 22  # float64 statistics are accumulated over chunks of ~32 MB


class Scaler:
    """x_model = (x_raw - offset) / scale; `standard`: mean/std, `minmax`: min/range, `none`: 0/base."""

    def __init__(self, kind: str, offset: np.ndarray, scale: np.ndarray):
        self.kind = kind
        self.offset = np.asarray(offset, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)

    @classmethod
    def fit(cls, kind: str, x: np.ndarray, base_scale: float = 1.0) -> Scaler:
        """Statistics of the training rows x (N, ...); a constant feature gets scale `base_scale`."""
        axes, shape = _stat_axes(x)
        if kind == "none":
            return cls(kind, np.zeros(shape), np.full(shape, float(base_scale)))
        if kind == "standard":
            offset, spread = _mean_std(x, axes)
        elif kind == "minmax":
            offset, top = _min_max(x, axes)
            spread = top - offset
        else:
            raise ValueError(f"unknown scaling {kind!r}; expected one of {KINDS}")
        # a spread below float32's smallest normal is 0 once cast to the training dtype (x / 0 = inf):
        # such a feature is constant at the precision a model sees, so it is left as it is, like std 0
        spread = np.where(spread >= np.finfo(np.float32).tiny, spread, float(base_scale))
        return cls(kind, offset.reshape(shape), spread.reshape(shape))

    def leaving(self, untouched: np.ndarray) -> Scaler:
        """The same scaler but the features flagged in `untouched` (F,) pass as they are (offset 0, scale 1)."""
        offset, scale = self.offset.copy(), self.scale.copy()
        offset[untouched], scale[untouched] = 0.0, 1.0
        return Scaler(self.kind, offset, scale)

    def transform(self, x: np.ndarray, dtype=np.float32) -> np.ndarray:
        """A new C-contiguous array in dtype; the arithmetic runs in dtype (no float64 detour)."""
        dtype = np.dtype(dtype)
        out = np.subtract(x, self.offset.astype(dtype), dtype=dtype, casting="unsafe")
        out /= self.scale.astype(dtype)
        return out

    def inverse_transform(self, x: np.ndarray, dtype=np.float64) -> np.ndarray:
        """Back to the file's units: x_raw = x_model * scale + offset."""
        dtype = np.dtype(dtype)
        out = np.multiply(x, self.scale.astype(dtype), dtype=dtype, casting="unsafe")
        out += self.offset.astype(dtype)
        return out

    def summary(self) -> str:
        axis = "per channel" if self.offset.ndim > 1 else "per feature"
        if self.kind == "none":
            factor = float(self.scale.flat[0]) if self.scale.size else 1.0
            return "none" if factor == 1.0 else f"none (divided by {factor:g})"
        return f"{self.kind} {axis}, fitted on the training split"

    def to_dict(self) -> dict:
        """JSON-able: floats round-trip exactly through JSON."""
        return {
            "kind": self.kind,
            "shape": list(self.offset.shape),
            "offset": [float(v) for v in self.offset.ravel()],
            "scale": [float(v) for v in self.scale.ravel()],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Scaler:
        """The inverse of to_dict, checked: a damaged entry is a CheckpointError, not a wrong model."""
        try:
            kind, shape = data["kind"], tuple(int(d) for d in data["shape"])
            offset = np.array(data["offset"], dtype=np.float64).reshape(shape)
            scale = np.array(data["scale"], dtype=np.float64).reshape(shape)
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"the saved scaler statistics are malformed ({err})") from None
        if kind not in KINDS or not (np.all(np.isfinite(offset)) and np.all(np.isfinite(scale))):
            raise CheckpointError("the saved scaler statistics are not finite numbers of a known kind")
        if np.any(scale <= 0):
            raise CheckpointError("the saved scaler has a scale <= 0")
        return cls(kind, offset, scale)


def _stat_axes(x: np.ndarray) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Axes to reduce and the statistics' shape: per feature (F,) or per channel (C, 1, 1)."""
    if x.ndim <= 2:
        return (0,), x.shape[1:] or (1,)
    return (0, *range(2, x.ndim)), (x.shape[1],) + (1,) * (x.ndim - 2)


def _mean_std(x: np.ndarray, axes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Two passes over row chunks in float64: exact enough, never a float64 copy of all of x (x may be LazyRows,
    read from its file chunk by chunk)."""
    rows = _chunk_rows(x)
    count = x.size // max(1, math.prod(x.shape[a] for a in range(1, x.ndim) if a not in axes))
    total = sum(np.sum(x[i : i + rows], axis=axes, dtype=np.float64) for i in range(0, len(x), rows))
    mean = total / count
    keep = _keepdims(mean, x.ndim, axes)
    squares = sum(
        np.sum(np.square(x[i : i + rows] - keep, dtype=np.float64), axis=axes) for i in range(0, len(x), rows)
    )
    return mean, np.sqrt(squares / count)


def _min_max(x, axes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature (or per-channel) minimum and maximum over row chunks, in float64."""
    rows = _chunk_rows(x)
    lows = [np.min(x[i : i + rows], axis=axes) for i in range(0, len(x), rows)]
    highs = [np.max(x[i : i + rows], axis=axes) for i in range(0, len(x), rows)]
    return np.min(lows, axis=0).astype(np.float64), np.max(highs, axis=0).astype(np.float64)


def _chunk_rows(x) -> int:
    return max(1, _CHUNK_ELEMENTS // max(1, math.prod(x.shape[1:])))


def _keepdims(stat: np.ndarray, ndim: int, axes: tuple[int, ...]) -> np.ndarray:
    shape = [1 if a in axes else -1 for a in range(ndim)]
    return stat.reshape(shape)
