"""The sequence shape convention shared by every layer that reads sequences.

A sequence example is (C, L): C features at each of L steps, features first (as images are
(C, H, W)); a batch is (N, C, L). Token ids are (N, L) integers. The per-step layers do their
matmuls on the (N, L, C) view, where one step's features are contiguous rows of a matrix.
"""

from __future__ import annotations

import math

from backprop_cli.config.names import a_or_an
from backprop_cli.errors import ConfigError


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
        c, rest = (shape[0], math.prod(shape[1:])) if shape else (1, 1)
        fix = (
            f"images go to conv2d and the 2-D pooling layers; to read each of the {rest} pixels as a step "
            f"of {c} channel{'s' * (c != 1)} add {{type: reshape, shape: [{c}, {rest}]}} first"
        )
    what = f"{a_or_an(kind)} layer needs sequences of shape (C, L), but its input has shape {shape}"
    raise ConfigError(what, fix=fix)


def steps_first(x):
    """(N, C, L) -> the (N, L, C) view: each step's C features as a row."""
    return x.transpose(0, 2, 1)
