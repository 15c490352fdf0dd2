"""Data augmentation of training batches: `data.augment`, a list of transforms drawn per batch.

Every transform works on the whole batch at once (no Python loop over examples): images (N, C, H, W),
1-D signals (N, C, L), and for `noise` plain vectors (N, D) too. Each one draws its random numbers for
the batch from the run's augmentation generator (one of the seed's streams, saved in the checkpoint, so
a resumed run draws the same), in the order the config lists them. Batches are augmented in the model's
units, after scaling: a pixel moved in from outside the image takes the value a raw 0 scales to (the
background), per channel, and `noise` is in scaled units. Validation, test, eval and predict never see
augmentation.

A transform is a pair: `draw(rng, n, shape)` gives the batch's random parameters, `apply(x, params,
fill)` is a pure function of them, so a test can give it a known draw and check the exact pixels.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal, Union

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from pydantic import Field

from backprop_cli.data import augment_kernels
from backprop_cli.errors import ConfigError
from backprop_cli.nn.specs import Spec


class ShiftSpec(Spec):
    type: Literal["shift"]
    max: int = Field(2, ge=1, le=64)  # steps or pixels, each axis on its own, uniform in [-max, max]


class CropSpec(Spec):
    type: Literal["crop"]
    pad: int = Field(4, ge=1, le=64)  # pad by `pad`, then crop back at a random offset: a shift of up to `pad`


class FlipSpec(Spec):
    type: Literal["flip"]
    axis: Literal["horizontal", "vertical"] = "horizontal"  # horizontal: left-right (a signal: time reversed)
    p: float = Field(0.5, ge=0, le=1)  # the chance that an example is flipped


class RotateSpec(Spec):
    type: Literal["rotate"]
    degrees: float = Field(10.0, gt=0, le=180)  # uniform in [-degrees, degrees], bilinear, about the centre


class NoiseSpec(Spec):
    type: Literal["noise"]
    std: float = Field(0.1, gt=0, le=100)  # Gaussian, added to every value (scaled units)


class CutoutSpec(Spec):
    type: Literal["cutout"]
    size: int = Field(8, ge=1, le=4096)  # a size × size square (a segment of a signal) set to the background


AugmentSpec = Annotated[
    Union[ShiftSpec, CropSpec, FlipSpec, RotateSpec, NoiseSpec, CutoutSpec], Field(discriminator="type")
]
# the example ranks each transform applies to: 1 vector (D,), 2 signal (C, L), 3 image (C, H, W)
RANKS = {"shift": (2, 3), "crop": (2, 3), "flip": (2, 3), "rotate": (3,), "noise": (1, 2, 3), "cutout": (2, 3)}
KINDS = {1: "vectors", 2: "signals (C, L)", 3: "images (C, H, W)"}


# ---- the transforms: pure functions of a batch and its draw ------------------------------------------------
def translate(x: np.ndarray, offsets: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """Each example moved by its integer offsets (N, d) along its d last axes (down/right for positive
    offsets): out[n, c, i] = x[n, c, i - offsets[n]], the background where that is outside."""
    n, spatial = len(x), x.shape[2:]
    m = int(np.abs(offsets).max(initial=0))
    padded = np.empty((*x.shape[:2], *(s + 2 * m for s in spatial)), dtype=x.dtype)
    padded[...] = fill
    padded[(slice(None), slice(None), *(slice(m, m + s) for s in spatial))] = x
    windows = sliding_window_view(padded, spatial, axis=tuple(range(2, x.ndim)))  # (N, C, 2m+1, .., *spatial)
    starts = m - offsets  # (N, d): where each example's window begins in the padded copy
    return windows[(np.arange(n), slice(None), *starts.T)]  # advanced indices first: (N, C, *spatial)


def flip(x: np.ndarray, flipped: np.ndarray, axis: int) -> np.ndarray:
    """The examples where `flipped` (N,) is true reversed along `axis` (-1: left-right, -2: up-down)."""
    out = x.copy()
    out[flipped] = np.flip(x[flipped], axis=axis)
    return out


def rotate(x: np.ndarray, radians: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """Images (N, C, H, W) turned anticlockwise (as displayed) by their angle (N,) about the centre, bilinear; a
    point whose source lies outside the image takes the background for the missing corners."""
    per_channel = np.ascontiguousarray(np.broadcast_to(np.asarray(fill, dtype=x.dtype).reshape(-1), (x.shape[1],)))
    kernel = augment_kernels.kernels().get("rotate")
    if kernel is not None:
        out = np.empty_like(x)
        cos, sin, one = np.cos(radians), np.sin(radians), x.dtype.type(1)
        kernel(np.ascontiguousarray(x), cos, sin, per_channel, one, np.empty(2, dtype=x.dtype), out)
        return out
    return rotate_rule(x, radians, per_channel)


def rotate_rule(x: np.ndarray, radians: np.ndarray, per_channel: np.ndarray) -> np.ndarray:
    """The NumPy rule: every source point as (N, H, W) arrays, four gathered corners (N, H, W, C), blended."""
    n, c, h, w = x.shape
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    ys, xs = np.meshgrid(np.arange(h) - cy, np.arange(w) - cx, indexing="ij")  # (H, W) about the centre
    cos, sin = np.cos(radians)[:, None, None], np.sin(radians)[:, None, None]  # (N, 1, 1)
    # the source of each output pixel: the output point turned back by the angle; rows point down, so an
    # anticlockwise turn as displayed (np.rot90's sense) reads (y, x) from (y cos + x sin, x cos - y sin)
    src_y = cos * ys + sin * xs + cy  # (N, H, W)
    src_x = cos * xs - sin * ys + cx
    y0, x0 = np.floor(src_y).astype(np.intp), np.floor(src_x).astype(np.intp)
    wy, wx = (src_y - y0).astype(x.dtype), (src_x - x0).astype(x.dtype)
    rows = np.arange(n)[:, None, None]

    def corner(yy: np.ndarray, xx: np.ndarray) -> np.ndarray:  # (N, H, W, C): the pixel, or the background
        inside = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
        got = x[rows, :, np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)]  # advanced indices first: (N, H, W, C)
        return np.where(inside[..., None], got, per_channel)

    gx, gy = (1 - wx)[..., None], (1 - wy)[..., None]
    upper = corner(y0, x0) * gx + corner(y0, x0 + 1) * wx[..., None]
    lower = corner(y0 + 1, x0) * gx + corner(y0 + 1, x0 + 1) * wx[..., None]
    out = upper * gy + lower * wy[..., None]  # (N, H, W, C)
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2), dtype=x.dtype)


def add_noise(x: np.ndarray, noise: np.ndarray) -> np.ndarray:
    return x + noise


def cut_out(x: np.ndarray, corners: np.ndarray, size: int, fill: np.ndarray) -> np.ndarray:
    """Each example's block [corner, corner + size) along the last d axes (clipped to the example) set to
    the background; corners (N, d) may lie before 0, so the block can hang over an edge (DeVries & Taylor)."""
    spatial = x.shape[2:]
    inside = np.ones((len(x), 1, *spatial), dtype=bool)
    for axis, extent in enumerate(spatial):
        positions = np.arange(extent).reshape((1, -1) + (1,) * (len(spatial) - axis - 1))  # along this axis
        start = corners[:, axis].reshape((-1,) + (1,) * len(spatial))
        inside &= ((positions >= start) & (positions < start + size))[:, None]
    return np.where(inside, fill, x).astype(x.dtype, copy=False)


# ---- the draws ----------------------------------------------------------------------------------------
class Augmenter:
    """The configured transforms in order, each drawn per batch from `rng`; `fill` is the background
    value per channel (broadcastable to one example), what a raw 0 becomes after scaling."""

    def __init__(self, specs: list, fill: np.ndarray):
        self.specs = list(specs)
        self.fill = fill

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        fill = self.fill.astype(x.dtype)
        for spec in self.specs:
            x = self.apply_one(spec, x, rng, fill)
        return x

    @staticmethod
    def apply_one(spec, x: np.ndarray, rng: np.random.Generator, fill: np.ndarray) -> np.ndarray:
        n, d = len(x), x.ndim - 2  # d spatial axes: 1 for a signal, 2 for an image
        if spec.type in ("shift", "crop"):
            reach = spec.max if spec.type == "shift" else spec.pad
            return translate(x, rng.integers(-reach, reach + 1, size=(n, d)), fill)
        if spec.type == "flip":
            return flip(x, rng.random(n) < spec.p, -1 if spec.axis == "horizontal" else -2)
        if spec.type == "rotate":
            return rotate(x, np.radians(rng.uniform(-spec.degrees, spec.degrees, size=n)), fill)
        if spec.type == "noise":
            return add_noise(x, rng.standard_normal(x.shape, dtype=x.dtype) * x.dtype.type(spec.std))
        starts = [rng.integers(0, extent, size=n) - spec.size // 2 for extent in x.shape[2:]]  # cutout
        return cut_out(x, np.stack(starts, axis=1), spec.size, fill)


def background(scaler, input_shape: tuple[int, ...]) -> np.ndarray:
    """What a raw 0 becomes after scaling, shaped to broadcast over one example's channels."""
    raw_zero = np.zeros((1, *input_shape))
    value = scaler.transform(raw_zero, np.float64)[0]  # (*input_shape)
    spatial_axes = tuple(range(1, value.ndim))  # per channel: the same everywhere in a channel's plane
    return value.mean(axis=spatial_axes, keepdims=True) if spatial_axes else value


def check_augment(specs: list | None, input_shape: tuple[int, ...], token_ids: bool = False) -> None:
    """Each transform fits the data: images, signals or vectors as RANKS says; never token ids."""
    for i, spec in enumerate(specs or []):
        where = f"data.augment.{i}"
        if token_ids:
            raise ConfigError(
                f"{spec.type} cannot augment token ids (a text's characters)", where=where, fix="remove data.augment"
            )
        rank = len(input_shape)
        if rank not in RANKS[spec.type]:
            fits = " and ".join(KINDS[r] for r in RANKS[spec.type])
            raise ConfigError(
                f"{spec.type} applies to {fits}, but each example here has shape {tuple(input_shape)}",
                where=where,
                fix="remove it, or use noise, which applies to any numbers",
            )
        if spec.type == "flip" and spec.axis == "vertical" and rank != 3:
            raise ConfigError("a vertical flip needs images (C, H, W)", where=f"{where}.axis", fix="use horizontal")
        size = spec.size if spec.type == "cutout" else 0
        if size > math.prod(input_shape[1:]):
            raise ConfigError(
                f"size {size} is larger than the example", where=f"{where}.size", fix="use a smaller size"
            )
