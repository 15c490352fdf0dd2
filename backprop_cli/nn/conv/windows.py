"""Sliding k x k windows over images: output sizes, padding, and the pixels each window offset reads.

Shared by conv2d and the pooling layers. Windows that would run past the (padded) edge are dropped,
so an axis of n pixels gives (n - k) // s + 1 outputs at stride s. Both layers loop over the k*k
offsets (p, q) of a window rather than over the windows: offset (p, q) of every window at once is
one strided slice of the image, so each step is a single vectorized NumPy operation.
"""

from __future__ import annotations

import math

from backprop_cli.errors import ConfigError


def image_shape(input_shape: tuple[int, ...], kind: str) -> tuple[int, int, int]:
    """(C, H, W) of an image input; anything else is the user's mistake (e.g. an image layer after flatten)."""
    if len(input_shape) != 3:
        raise ConfigError(
            f"a {kind} layer needs images of shape (C, H, W), but its input has shape {tuple(input_shape)}",
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
            f"a {kind} window of {k} pixels does not fit an input of {n} pixels",
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


SEQUENCE_LAYERS = ("conv1d", "maxpool1d", "avgpool1d", "rnn", "lstm", "gru")  # layers that read (C, L)


def reads_sequences(layer_specs) -> bool:
    """Whether a model's first layer reads sequences (C, L): then an (N, C, L) data file keeps its shape."""
    if not layer_specs:
        return False
    first = layer_specs[0]
    kind = first.get("type") if isinstance(first, dict) else getattr(first, "type", None)
    return kind in SEQUENCE_LAYERS


def sequence_shape(input_shape: tuple[int, ...], kind: str) -> tuple[int, int]:
    """(C, L) of a sequence input; a vector or an image is the user's mistake, with the fix for each."""
    shape = tuple(int(d) for d in input_shape)
    if len(shape) == 2:
        return shape  # type: ignore[return-value]
    if len(shape) == 1:
        fix = (
            f"put sequence layers before `flatten` and dense layers; for (N, {shape[0]}) numbers add "
            f"{{type: reshape, shape: [1, {shape[0]}]}} first (one channel of {shape[0]} steps); "
            "token ids (integers) go through an `embedding` layer first"
        )
    else:
        c, rest = shape[0], math.prod(shape[1:])
        fix = (
            f"images go to conv2d and the 2-D pooling layers; to read each of the {rest} pixels as a step "
            f"of {c} channel{'s' * (c != 1)} add {{type: reshape, shape: [{c}, {rest}]}} first"
        )
    raise ConfigError(f"a {kind} layer needs sequences of shape (C, L), but its input has shape {shape}", fix=fix)


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
            f"a {kind} window of {span} steps{taps} does not fit an input of {length + sum(pads)} steps",
            fix="use a smaller kernel_size/pool_size or dilation, padding, or fewer pooling layers before it",
        )
    return pads, output_size(length + sum(pads), span, s, kind)


def offsets_1d(k: int, s: int, out_len: int, dilation: int = 1) -> list[tuple[int, slice]]:
    """(p, steps) for each tap of a window: x[..., steps] is the (OL,) run x[..., s*i + dilation*p]."""
    return [(p, slice(dilation * p, dilation * p + (out_len - 1) * s + 1, s)) for p in range(k)]
