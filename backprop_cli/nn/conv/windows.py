"""Sliding k x k windows over images: output sizes, padding, and the pixels each window offset reads.

Shared by conv2d and the pooling layers. Windows that would run past the (padded) edge are dropped,
so an axis of n pixels gives (n - k) // s + 1 outputs at stride s. Both layers loop over the k*k
offsets (p, q) of a window rather than over the windows: offset (p, q) of every window at once is
one strided slice of the image, so each step is a single vectorized NumPy operation.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from backprop_cli.config.names import a_or_an
from backprop_cli.errors import ConfigError
from backprop_cli.nn.steps import sequence_shape

MAX_PADDING = 1024


def _one_padding_message(value):
    """One clear message for `padding:`, rather than one per member of its union."""
    if value == "same" or (type(value) is int and 0 <= value <= MAX_PADDING):
        return value
    shown = str(value).lower() if isinstance(value, bool) else repr(value)  # as YAML wrote it
    raise ValueError(f"must be a whole number from 0 to {MAX_PADDING}, or 'same' (got {shown})")


# `padding:` of conv2d and conv1d; "same" keeps ceil(size / stride) outputs per axis
Padding = Annotated[
    Annotated[int, Field(ge=0, le=MAX_PADDING)] | Literal["same"], BeforeValidator(_one_padding_message)
]


def image_shape(input_shape: tuple[int, ...], kind: str) -> tuple[int, int, int]:
    """(C, H, W) of an image input; anything else is the user's mistake (e.g. an image layer after flatten)."""
    if len(input_shape) != 3:
        raise ConfigError(
            f"{a_or_an(kind)} layer needs images of shape (C, H, W), but its input has shape {tuple(input_shape)}",
            fix="put image layers before `flatten` and use image data (digits, mnist, or an .npz of (N, C, H, W))",
        )
    return tuple(int(d) for d in input_shape)  # type: ignore[return-value]


def same_padding(n: int, k: int, s: int) -> tuple[int, int]:
    """(before, after) so that an axis of n gives ceil(n / s) outputs; the odd pixel goes after (as in Keras)."""
    total = max((-(-n // s) - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def output_size(n: int, k: int, s: int, kind: str) -> int:
    """Outputs along an axis of n (padded) pixels: (n - k) // s + 1; a window larger than the axis is an error."""
    if k > n:
        raise ConfigError(
            f"{a_or_an(kind)} window of {k} pixels does not fit an input of {n} pixels",
            fix="use a smaller kernel_size/pool_size, padding, or fewer pooling layers before it",
        )
    return (n - k) // s + 1


def window_geometry(
    input_shape: tuple[int, ...], k: int, s: int, padding: int | str, kind: str
) -> tuple[tuple[int, int, int, int], tuple[int, int]]:
    """(pads (top, bottom, left, right), output (OH, OW)) of k x k windows at stride s over images (C, H, W)."""
    _, h, w = image_shape(input_shape, kind)
    pads = (*same_padding(h, k, s), *same_padding(w, k, s)) if padding == "same" else (int(padding),) * 4
    top, bottom, left, right = pads
    return pads, (output_size(h + top + bottom, k, s, kind), output_size(w + left + right, k, s, kind))


def offsets(k: int, s: int, out_hw: tuple[int, int]) -> list[tuple[int, int, slice, slice]]:
    """(p, q, rows, cols) for each offset of a k x k window, row-major: x[rows, cols] is the (OH, OW) grid of
    pixels x[s*i + p, s*j + q] that offset (p, q) of every window reads."""
    oh, ow = out_hw
    return [
        (p, q, slice(p, p + (oh - 1) * s + 1, s), slice(q, q + (ow - 1) * s + 1, s)) for p in range(k) for q in range(k)
    ]


# --- sequences (C, L): conv1d and the 1-D pooling layers --------------------------------------------


def window_geometry_1d(
    input_shape: tuple[int, ...], k: int, s: int, padding: int | str, kind: str, dilation: int = 1
) -> tuple[tuple[int, int], int]:
    """(pads (left, right), OL) of windows of k taps spaced `dilation` apart, at stride s, over sequences (C, L)."""
    _, length = sequence_shape(input_shape, kind)
    span = dilation * (k - 1) + 1  # the steps one window covers
    pads = same_padding(length, span, s) if padding == "same" else (int(padding),) * 2
    if span > length + sum(pads):
        taps = f" ({k} taps, {dilation} apart)" if dilation > 1 else ""
        raise ConfigError(
            f"{a_or_an(kind)} window of {span} steps{taps} does not fit an input of {length + sum(pads)} steps",
            fix="use a smaller kernel_size/pool_size or dilation, padding, or fewer pooling layers before it",
        )
    return pads, output_size(length + sum(pads), span, s, kind)


def offsets_1d(k: int, s: int, out_len: int, dilation: int = 1) -> list[tuple[int, slice]]:
    """(p, steps) for each tap of a window: x[..., steps] is the (OL,) run x[..., s*i + dilation*p]."""
    return [(p, slice(dilation * p, dilation * p + (out_len - 1) * s + 1, s)) for p in range(k)]
